import { describe, expect, it } from 'vitest';
import { compileTemplate, formatTimestamp } from '../../src/text/template.js';

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
    expect(formatTimestamp(new Date(2026, 11, 31, 23, 59, 59).getTime() * 1000)).toBe('2026-12-31 23:59:59.000000');
  });
  it('rejects a single closing brace, an unclosed field and an empty field with E_BAD_TEMPLATE', () => {
    for (const bad of ['a } b', 'a {b', 'a {} b', '{x:~~~}']) {
      expect(() => compileTemplate(bad, 'message')).toThrow(expect.objectContaining({ code: 'E_BAD_TEMPLATE', argsSubPath: 'message' }));
    }
  });
});
