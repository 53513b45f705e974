import { describe, expect, it } from 'vitest';
import { compileTemplate, formatTimestamp, strftime } from '../../src/text/template.js';

const render = (t: string, entry: Record<string, unknown>) => compileTemplate(t).render(entry);

describe('Python str.format templates', () => {
  it('fills fields by name and keeps literal text', () => {
    expect(render('SSH attack from {clientIP} on {sshUser}@{_HOSTNAME}.', { clientIP: '1.2.3.4', sshUser: 'ME', _HOSTNAME: 'sshserv' }))
      .toBe('SSH attack from 1.2.3.4 on ME@sshserv.');
  });
  it('renders doubled braces as literal braces', () => {
    expect(render('{{literal}} {x}}}', { x: 1 })).toBe('{literal} 1}');
  });
  it('renders a missing field as None, like Pyruse', () => {
    expect(render('user={u}', {})).toBe('user=None');
  });
  it('applies format specs: centered integer, right-aligned string, fixed-point float', () => {
    expect(render('[{n:^9d}]', { n: 12 })).toBe('[   12    ]');
    expect(render('[{x:>10}]', { x: 'abc' })).toBe('[       abc]');
    expect(render('{f:.2f}', { f: 3.14159 })).toBe('3.14');
    expect(render('{n:05d}|{n:+d}|{n:x}|{n:#x}|{big:,}', { n: 42, big: 1234567 })).toBe('00042|+42|2a|0x2a|1,234,567');
    expect(render('{s:*<6}|{s:.2}', { s: 'abc' })).toBe('abc***|ab');
  });
  it('renders the journal timestamp as local YYYY-MM-DD hh:mm:ss.µµµµµµ', () => {
    const micros = new Date(2026, 0, 2, 3, 4, 5).getTime() * 1000 + 123456;
    expect(render('at {__REALTIME_TIMESTAMP}', { __REALTIME_TIMESTAMP: micros })).toBe('at 2026-01-02 03:04:05.123456');
  });
  it('leaves the fraction out of a timestamp with zero microseconds, as Python\'s str(datetime)', () => {
    expect(formatTimestamp(new Date(2026, 11, 31, 23, 59, 59).getTime() * 1000)).toBe('2026-12-31 23:59:59');
  });
  it('!r renders Python\'s repr: double quotes around a text holding a single quote, escapes, non-printables', () => {
    expect(render('{s!r}', { s: "it's" })).toBe('"it\'s"');
    expect(render('{s!r}', { s: 'say "hi"' })).toBe('\'say "hi"\'');
    expect(render('{s!r}', { s: 'both \' and "' })).toBe('\'both \\\' and "\'');
    expect(render('{s!r}', { s: 'a\tb\nc\rd\\e' })).toBe("'a\\tb\\nc\\rd\\\\e'");
    expect(render('{s!r}', { s: '\x00\x1b\x7f\u00a0\u00ad\u2028\u200b' })).toBe("'\\x00\\x1b\\x7f\\xa0\\xad\\u2028\\u200b'");
    expect(render('{s!r}', { s: 'é٣\u{1F600}\u{E0001}' })).toBe("'é٣\u{1F600}\\U000e0001'");
    expect(render('{s!a}', { s: 'é\u{1F600}' })).toBe("'\\xe9\\U0001f600'");
    expect(render('{n!r}|{m!r}|{s!r:>6}', { n: 5, s: 'x' })).toBe("5|None|   'x'");
  });
  it('renders python-systemd\'s UUIDs and timedeltas as Python prints them', () => {
    const id = 'fc2e22bc6ee647b6b90729ab34a250b1';
    expect(render('{_BOOT_ID} {MESSAGE_ID!r}', { _BOOT_ID: id, MESSAGE_ID: id })).toBe("fc2e22bc-6ee6-47b6-b907-29ab34a250b1 UUID('fc2e22bc-6ee6-47b6-b907-29ab34a250b1')");
    expect(render('{_SOURCE_MONOTONIC_TIMESTAMP}|{_SOURCE_MONOTONIC_TIMESTAMP!r}', { _SOURCE_MONOTONIC_TIMESTAMP: 5_000_123 })).toBe('0:00:05.000123|datetime.timedelta(seconds=5, microseconds=123)');
    expect(render('{_SOURCE_MONOTONIC_TIMESTAMP}', { _SOURCE_MONOTONIC_TIMESTAMP: 2 * 86_400_000_000 + 3_600_000_000 })).toBe('2 days, 1:00:00');
    const micros = new Date(2026, 0, 2, 3, 4, 5).getTime() * 1000;
    expect(render('{__REALTIME_TIMESTAMP!r}', { __REALTIME_TIMESTAMP: micros + 7 })).toBe('datetime.datetime(2026, 1, 2, 3, 4, 5, 7)');
    expect(render('{__REALTIME_TIMESTAMP!r}', { __REALTIME_TIMESTAMP: micros - 5_000_000 })).toBe('datetime.datetime(2026, 1, 2, 3, 4)');
  });
  it('rejects a single closing brace, an unclosed field and an empty field with E_BAD_TEMPLATE', () => {
    for (const bad of ['a } b', 'a {b', 'a {} b', '{x:~~~}']) {
      expect(() => compileTemplate(bad, 'message')).toThrow(expect.objectContaining({ code: 'E_BAD_TEMPLATE', argsSubPath: 'message' }));
    }
  });
});

describe('a datetime format spec on a timestamp field (Pyruse: a Python datetime)', () => {
  it('renders as Python\'s strftime does (expected strings from Python 3 with TZ=UTC)', () => {
    const previous = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const format = '%Y-%m-%d %H:%M:%S.%f|%a %A %b %B|%c|%d %e %I %j %p %U %W %w %y|%z%Z|%%|%F %T %D %R';
      expect(strftime(1767225600_123456, format)).toBe('2026-01-01 00:00:00.123456|Thu Thursday Jan January|Thu Jan  1 00:00:00 2026|01  1 12 001 AM 00 00 4 26||%|2026-01-01 00:00:00 01/01/26 00:00');
      expect(strftime(1780000000_500000, format)).toBe('2026-05-28 20:26:40.500000|Thu Thursday May May|Thu May 28 20:26:40 2026|28 28 08 148 PM 21 21 4 26||%|2026-05-28 20:26:40 05/28/26 20:26');
      expect(strftime(1798675199_000000, format)).toBe('2026-12-30 23:59:59.000000|Wed Wednesday Dec December|Wed Dec 30 23:59:59 2026|30 30 11 364 PM 52 52 3 26||%|2026-12-30 23:59:59 12/30/26 23:59');
      expect(strftime(1704067200_000000, format)).toBe('2024-01-01 00:00:00.000000|Mon Monday Jan January|Mon Jan  1 00:00:00 2024|01  1 12 001 AM 00 01 1 24||%|2024-01-01 00:00:00 01/01/24 00:00');
      const template = compileTemplate('{__REALTIME_TIMESTAMP:%Y-%m-%d %H:%M} {MESSAGE}', 'message');
      expect(template.render({ __REALTIME_TIMESTAMP: 1780000000_500000, MESSAGE: 'x' })).toBe('2026-05-28 20:26 x');
      // any spec on a datetime is a strftime format: no "%" means the text itself
      expect(compileTemplate('{__REALTIME_TIMESTAMP:>30}', 'message').render({ __REALTIME_TIMESTAMP: 1 })).toBe('>30');
      // a missing timestamp renders as None, as without a spec
      expect(template.render({ MESSAGE: 'x' })).toBe('None x');
    } finally {
      if (previous === undefined) delete process.env.TZ; else process.env.TZ = previous;
    }
  });

  it('a datetime format spec on a field that is not a timestamp stays a template error', () => {
    expect(() => compileTemplate('{MESSAGE:%Y}', 'message')).toThrow(expect.objectContaining({ code: 'E_BAD_TEMPLATE' }));
  });
});
