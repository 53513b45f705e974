import { describe, expect, it } from 'vitest';
import { makeByteDecoder, numberOrText, typeJsonEntry, uuidText } from '../../src/journal/fields.js';
import { isIPv4, isIPv6 } from 'node:net';
import { parseIp, parseNetwork } from '../../src/net/ip.js';

describe('journal field typing', () => {
  it('types numeric fields as python-systemd does and keeps others as strings', () => {
    const entry = typeJsonEntry({ PRIORITY: '4', _PID: '123', _UID: '0', SYSLOG_FACILITY: '10', __REALTIME_TIMESTAMP: '1767225600123456', MESSAGE: '42', _HOSTNAME: 'dmz' }, makeByteDecoder('iso-8859-1'));
    expect(entry).toEqual({ PRIORITY: 4, _PID: 123, _UID: 0, SYSLOG_FACILITY: 10, __REALTIME_TIMESTAMP: 1767225600123456, MESSAGE: '42', _HOSTNAME: 'dmz' });
  });
  it('keeps a malformed number as a string so comparisons see a type mismatch', () => {
    expect(typeJsonEntry({ PRIORITY: 'high' }, makeByteDecoder('latin1'))).toEqual({ PRIORITY: 'high' });
  });
  it('types every int field of python-systemd 235\'s DEFAULT_CONVERTERS as a number, _SYSTEMD_SESSION and SESSION_ID included', () => {
    const ints = ['PRIORITY', 'LEADER', 'SESSION_ID', 'USERSPACE_USEC', 'INITRD_USEC', 'KERNEL_USEC', '_UID', '_GID', '_PID',
      'SYSLOG_FACILITY', 'SYSLOG_PID', '_AUDIT_SESSION', '_AUDIT_LOGINUID', '_SYSTEMD_SESSION', '_SYSTEMD_OWNER_UID', 'CODE_LINE',
      'ERRNO', 'EXIT_STATUS', 'COREDUMP_PID', 'COREDUMP_UID', 'COREDUMP_GID', 'COREDUMP_SESSION', 'COREDUMP_SIGNAL'];
    const entry = typeJsonEntry(Object.fromEntries(ints.map((name) => [name, '7'])), makeByteDecoder('latin1'));
    expect(entry).toEqual(Object.fromEntries(ints.map((name) => [name, 7])));
    expect(typeJsonEntry({ _SYSTEMD_USER_SLICE: '7', INVOCATION_ID: '7', _SYSTEMD_UNIT: '7' }, makeByteDecoder('latin1')))
      .toEqual({ _SYSTEMD_USER_SLICE: '7', INVOCATION_ID: '7', _SYSTEMD_UNIT: '7' });
  });
  it('reads numbers as Python\'s int() does: spaces, sign and underscores yes; decimals, exponents and hex stay text', () => {
    const typed = (text: string) => numberOrText(text);
    expect([' 42\n', '+5', '-0', '1_000', '007'].map(typed)).toEqual([42, 5, 0, 1000, 7]);
    expect(['5.5', '1e3', '0x10', '', ' ', '1__0', '_1', 'Infinity', '\u0663'].map(typed)).toEqual(['5.5', '1e3', '0x10', '', ' ', '1__0', '_1', 'Infinity', '\u0663']);
  });
  it('reads a journal UUID as python-systemd\'s uuid.UUID prints it, dashed; what UUID() refuses gets no dashes', () => {
    expect(uuidText('FC2E22BC6EE647B6B90729AB34A250B1')).toBe('fc2e22bc-6ee6-47b6-b907-29ab34a250b1');
    expect(uuidText('{fc2e22bc-6ee6-47b6-b907-29ab34a250b1}')).toBe('fc2e22bc-6ee6-47b6-b907-29ab34a250b1');
    expect(uuidText('fc2e22bc6ee647b6b90729ab34a250')).toBeUndefined();
    expect(uuidText('not-a-uuid')).toBeUndefined();
  });
  it('decodes a non-UTF-8 byte array with ISO-8859-1, byte-exact', () => {
    const bytes = [...Buffer.from('jos', 'latin1'), 0xe9, 0x20, 0x80, 0x9f];
    const entry = typeJsonEntry({ MESSAGE: bytes }, makeByteDecoder('iso-8859-1'));
    expect(entry.MESSAGE).toBe('jos\u00e9 \u0080\u009f');
  });
  it('decodes a UTF-8 byte array as UTF-8 and uses the configured 8-bit encoding otherwise', () => {
    expect(typeJsonEntry({ MESSAGE: [...Buffer.from('josé\n', 'utf8')] }, makeByteDecoder('iso-8859-15')).MESSAGE).toBe('josé\n');
    expect(typeJsonEntry({ MESSAGE: [0xa4] }, makeByteDecoder('iso-8859-15')).MESSAGE).toBe('€');
  });
  it('tells UTF-8 from other bytes exactly as the strict decoder does: BOM, surrogates, overlong forms, beyond U+10FFFF, cut sequences', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const reference = (bytes: Uint8Array) => { try { return strict.decode(bytes); } catch { return Buffer.from(bytes).toString('latin1'); } };
    const decode = makeByteDecoder('iso-8859-1');
    const cases = [[0xef, 0xbb, 0xbf, 0x61], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xe0, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98],
      [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82, 0xac], [0x80], [0xff, 0xfe], [0x00, 0x0a, 0x7f], []];
    let seed = 42;
    const random = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    const pieces = [0x61, 0x0a, 0x80, 0xbf, 0xc2, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0];
    for (let i = 0; i < 3000; i++) cases.push(Array.from({ length: 1 + random(7) }, () => pieces[random(pieces.length)]!));
    for (const bytes of cases) expect(decode(Uint8Array.from(bytes)), JSON.stringify(bytes)).toBe(reference(Uint8Array.from(bytes)));
  });
  it('keeps the first value of a repeated field', () => {
    expect(typeJsonEntry({ TAG: ['a', 'b'] }, makeByteDecoder('latin1')).TAG).toBe('a');
  });
});

describe('IP parsing', () => {
  it('normalises addresses and maps IPv4-mapped IPv6 to IPv4', () => {
    expect(parseIp('2001:DB8:0:0::1')?.text).toBe('2001:db8::1');
    expect(parseIp('::ffff:1.2.3.4')).toMatchObject({ family: 4, text: '1.2.3.4' });
    expect(parseIp('1:0:0:1:0:0:0:1')?.text).toBe('1:0:0:1::1');
  });
  it('refuses anything that is not exactly an address', () => {
    for (const bad of ['1.2.3.4;add table ip evil', '1.2.3.4\n', 'example.org', '1.2.3', '01.2.3.4', 'fe80::1%eth0', 'x'.repeat(300), '']) expect(parseIp(bad)).toBeUndefined();
  });
  it('accepts exactly the IPv4 texts net.isIPv4 accepts (random dotted strings)', () => {
    let seed = 42;
    const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
    for (let i = 0; i < 50_000; i++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => (random() < 0.1 ? '0' : '') + String(Math.floor(random() * 300)));
      const text = parts.join(random() < 0.02 ? '..' : '.');
      const parsed = parseIp(text);
      expect(parsed !== undefined, text).toBe(isIPv4(text));
      if (parsed) expect(parsed.text).toBe(text);
    }
  });

  it('accepts exactly the IPv6 texts net.isIPv6 accepts (zones aside), in the form URL parsing gives (random colon strings)', () => {
    let seed = 7;
    const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
    const group = () => {
      const roll = random();
      if (roll < 0.3) return '0';
      if (roll < 0.35) return '';
      if (roll < 0.4) return 'fFfFf'.slice(0, 1 + Math.floor(random() * 5)); // 5 digits: too long
      if (roll < 0.43) return 'g1';
      return Math.floor(random() * 65536).toString(16)[random() < 0.3 ? 'toUpperCase' : 'toLowerCase']();
    };
    let accepted = 0;
    for (let i = 0; i < 50_000; i++) {
      const groups = Array.from({ length: 1 + Math.floor(random() * 9) }, group);
      if (random() < 0.5) groups.splice(Math.floor(random() * (groups.length + 1)), 0, ''); // a "::" somewhere, or a stray ":"
      let text = groups.join(':');
      if (random() < 0.15) text += `:${Math.floor(random() * 260)}.${Math.floor(random() * 256)}.2.${random() < 0.1 ? '04' : '4'}`;
      if (random() < 0.02) text += '%eth0';
      const parsed = parseIp(text);
      const valid = isIPv6(text) && !text.includes('%');
      expect(parsed !== undefined, text).toBe(valid || isIPv4(text));
      if (!parsed || !valid) continue;
      accepted++;
      const canonical = new URL(`http://[${text}]`).hostname.slice(1, -1);
      const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
      const v4 = mapped ? parseInt(mapped[1]!, 16) * 65536 + parseInt(mapped[2]!, 16) : undefined;
      expect(parsed.text, text).toBe(v4 === undefined ? canonical : [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.'));
    }
    expect(accepted).toBeGreaterThan(2000);
  });

  it('parses networks and masks the host bits', () => {
    expect(parseNetwork('10.1.2.3/8')?.text).toBe('10.0.0.0/8');
    expect(parseNetwork('2001:db8::1')?.prefix).toBe(128);
    expect(parseNetwork('10.0.0.0/33')).toBeUndefined();
    expect(parseNetwork('fe80::1%eth0/64')).toBeUndefined();
    expect(parseNetwork('010.0.0.0/8')).toBeUndefined();
    expect(parseNetwork('2001:DB8:0:0:1::/48')?.text).toBe('2001:db8::/48');
    expect(parseNetwork('::ffff:10.0.0.0/104')).toMatchObject({ family: 6, prefix: 104 });
  });
});
