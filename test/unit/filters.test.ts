import { describe, expect, it } from 'vitest';
import type { ConfigError, Entry, FilterModule } from '../../src/modules/api.js';
import equals from '../../filters/filter_equals.js';
import lowerOrEquals from '../../filters/filter_lowerOrEquals.js';
import greaterOrEquals from '../../filters/filter_greaterOrEquals.js';
import inFilter from '../../filters/filter_in.js';
import inNetworks from '../../filters/filter_inNetworks.js';
import pcre from '../../filters/filter_pcre.js';
import pcreAny from '../../filters/filter_pcreAny.js';
import userExists from '../../filters/filter_userExists.js';
import { fakeContext } from '../helpers/engine.js';

const make = <A>(module: FilterModule<A>, args: A) => module.create(args, fakeContext());

describe('filter_equals', () => {
  it('passes on an equal value of the same type', () => {
    expect(make(equals, { field: 'PRIORITY', value: 4 }).test({ PRIORITY: 4 })).toBe(true);
  });
  it('does not coerce: the string "4" is not the number 4', () => {
    expect(make(equals, { field: 'PRIORITY', value: 4 }).test({ PRIORITY: '4' })).toBe(false);
  });
  it('is false on a missing field', () => {
    expect(make(equals, { field: 'x', value: 'None' }).test({})).toBe(false);
  });
  it('with value null passes on a missing or null field, as Python\'s entry.get(field) == None', () => {
    const f = make(equals, { field: 'x', value: null });
    expect([{}, { x: null }, { x: '' }, { x: 0 }].map((e) => f.test(e))).toEqual([true, true, false, false]);
  });
  it('true equals 1 and false equals 0, as in Python', () => {
    expect(make(equals, { field: 'n', value: true }).test({ n: 1 })).toBe(true);
    expect(make(equals, { field: 'n', value: false }).test({ n: 0 })).toBe(true);
    expect(make(equals, { field: 'n', value: true }).test({ n: '1' })).toBe(false);
  });
});

describe('comparison filters', () => {
  it('compare numbers with numbers', () => {
    const le = make(lowerOrEquals, { field: 'PRIORITY', value: 3 });
    expect([2, 3, 4].map((p) => le.test({ PRIORITY: p }))).toEqual([true, true, false]);
    const ge = make(greaterOrEquals, { field: 'n', value: 6 });
    expect([5, 6, 7].map((n) => ge.test({ n }))).toEqual([false, true, true]);
  });
  it('compare strings with strings', () => {
    expect(make(lowerOrEquals, { field: 's', value: 'm' }).test({ s: 'a' })).toBe(true);
    expect(make(greaterOrEquals, { field: 's', value: 'm' }).test({ s: 'a' })).toBe(false);
  });
  it('compare strings by code point as Python does: an emoji comes after U+FFFD', () => {
    // JS's own < orders UTF-16 units: "\u{1F600}" (D83D DE00) < "\uFFFD"
    expect(make(greaterOrEquals, { field: 's', value: '\uFFFD' }).test({ s: '\u{1F600}' })).toBe(true);
    expect(make(lowerOrEquals, { field: 's', value: '\uFFFD' }).test({ s: '\u{1F600}' })).toBe(false);
    expect(make(lowerOrEquals, { field: 's', value: 'a\u{1F600}' }).test({ s: 'a\uE000' })).toBe(true);
    expect(make(greaterOrEquals, { field: 's', value: 'ab' }).test({ s: 'ab' })).toBe(true);
    expect(make(greaterOrEquals, { field: 's', value: 'abc' }).test({ s: 'ab' })).toBe(false);
  });
  it('treat a type mismatch as a non-match: "10" <= 9 is not coerced', () => {
    expect(make(lowerOrEquals, { field: 'n', value: 9 }).test({ n: '1' })).toBe(false);
    expect(make(greaterOrEquals, { field: 'n', value: 9 }).test({ n: '10' })).toBe(false);
    expect(make(lowerOrEquals, { field: 'n', value: 9 }).test({})).toBe(false);
  });
});

describe('filter_in', () => {
  it('passes when the value is one of the list, same type only', () => {
    const f = make(inFilter, { field: 'PRIORITY', values: [2, 3] });
    expect([1, 2, 3, '2'].map((p) => f.test({ PRIORITY: p }))).toEqual([false, true, true, false]);
  });
  it('with null among the values passes on a missing field, as Python\'s entry.get(field) in values', () => {
    const f = make(inFilter, { field: 'user', values: [null, 'root'] });
    expect([{}, { user: null }, { user: 'root' }, { user: 'None' }].map((e) => f.test(e))).toEqual([true, true, true, false]);
    expect(make(inFilter, { field: 'user', values: ['root'] }).test({})).toBe(false);
  });
});

describe('filter_inNetworks', () => {
  const f = make(inNetworks, { field: 'IP', nets: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '2001:db8::1'] });
  it('matches IPv4 CIDRs and bare addresses as /32', () => {
    expect(['10.200.3.4', '11.0.0.1', '192.168.1.7', '192.168.1.8'].map((IP) => f.test({ IP }))).toEqual([true, false, true, false]);
  });
  it('matches IPv6 CIDRs and bare addresses as /128', () => {
    expect(['fd12::5', 'fe80::1', '2001:db8::1', '2001:db8::2', '2001:DB8:0::1'].map((IP) => f.test({ IP }))).toEqual([true, false, true, false, true]);
  });
  it('treats ::ffff:10.1.2.3 as IPv6, as Python\'s ipaddress: not in an IPv4 network, in ::ffff:0:0/96', () => {
    expect(f.test({ IP: '::ffff:10.1.2.3' })).toBe(false);
    expect(f.test({ IP: '::FFFF:192.168.1.7' })).toBe(false);
    const mapped = make(inNetworks, { field: 'IP', nets: ['::ffff:0:0/96'] });
    expect(mapped.test({ IP: '::ffff:10.1.2.3' })).toBe(true);
    expect(mapped.test({ IP: '10.1.2.3' })).toBe(false);
  });
  it('is false for text that is not exactly an address', () => {
    expect(['10.0.0.1;drop', 'host.example', '', '10.0.0.1 ', undefined, 167772161].map((IP) => f.test({ IP } as Entry))).toEqual([false, false, false, false, false, false]);
  });
  it('rejects a bad network at config time with E_BAD_NETWORK on its index', () => {
    try {
      make(inNetworks, { field: 'IP', nets: ['10.0.0.0/8', '300.1.2.3/8'] });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).code).toBe('E_BAD_NETWORK');
      expect((e as ConfigError).argsSubPath).toBe('nets[1]');
    }
  });
});

describe('filter_pcre', () => {
  it('stores numbered groups under the save names', () => {
    const f = make(pcre, { field: 'MESSAGE', re: "^\\{core\\} Login failed: '(.*)' \\(Remote IP: '(.*)'\\)", save: ['thatUser', 'thatIP'] });
    const entry: Entry = { MESSAGE: "{core} Login failed: 'bob' (Remote IP: '1.2.3.4')" };
    expect(f.test(entry)).toBe(true);
    expect(entry).toMatchObject({ thatUser: 'bob', thatIP: '1.2.3.4' });
  });
  it('copies Python named groups (?P<name>…) into the entry', () => {
    const f = make(pcre, { field: 'MESSAGE', re: 'from (?P<thatIP>[^ ]+) port (?P<port>\\d+)' });
    const entry: Entry = { MESSAGE: 'Failed password for root from 5.6.7.8 port 22 ssh2' };
    expect(f.test(entry)).toBe(true);
    expect(entry).toMatchObject({ thatIP: '5.6.7.8', port: '22' });
  });
  it('searches anywhere, not only at the start', () => {
    expect(make(pcre, { field: 'm', re: 'needle' }).test({ m: 'hay needle hay' })).toBe(true);
  });
  it('reads a missing field as the empty string', () => {
    expect(make(pcre, { field: 'm', re: '^$' }).test({})).toBe(true);
  });
  it('compiles RE2-refused patterns with the JS engine and warns', () => {
    const ctx = fakeContext();
    const f = pcre.create({ field: 'm', re: '^(?P<w>\\w+) (?P=w)$' }, ctx);
    expect(f.test({ m: 'bye bye' })).toBe(true);
    expect(f.test({ m: 'bye hi' })).toBe(false);
    expect(ctx.warnings[0]).toMatch(/RE2 cannot compile/);
  });
  it('uses RE2 (linear time) for ordinary patterns: a catastrophic pattern returns at once', () => {
    const ctx = fakeContext();
    const f = pcre.create({ field: 'm', re: '^(a+)+$' }, ctx);
    expect(ctx.warnings).toEqual([]);
    expect(f.test({ m: 'a'.repeat(5000) + 'b' })).toBe(false);
  });
  it('refuses a save list longer than the groups', () => {
    expect(() => make(pcre, { field: 'm', re: '(a)', save: ['x', 'y'] })).toThrow(/2 fields but the pattern has 1/);
  });
  it('refuses a pattern no engine can compile with E_BAD_REGEX', () => {
    try { make(pcre, { field: 'm', re: '(unclosed' }); expect.unreachable(); } catch (e) { expect((e as ConfigError).code).toBe('E_BAD_REGEX'); }
  });
});

describe('filter_pcreAny', () => {
  it('passes on the first matching pattern and stores its named groups', () => {
    const f = make(pcreAny, { field: 'MESSAGE', re: ['^Failed password for invalid user (?P<u>[^ ]+) from (?P<ip>[^ ]+)', '^Failed password for (?P<u>[^ ]+) from (?P<ip>[^ ]+)'] });
    const entry: Entry = { MESSAGE: 'Failed password for invalid user admin from 9.9.9.9 port 1 ssh2' };
    expect(f.test(entry)).toBe(true);
    expect(entry).toMatchObject({ u: 'admin', ip: '9.9.9.9' });
    expect(f.test({ MESSAGE: 'Accepted password' })).toBe(false);
  });
});

describe('filter_userExists', () => {
  it('knows root and not a random name', () => {
    const f = make(userExists, { field: 'u' });
    expect(f.test({ u: 'root' })).toBe(true);
    expect(f.test({ u: 'no-such-user-' + process.pid })).toBe(false);
    expect(f.test({ u: 'root\nx' })).toBe(false);
  });
  it('looks up names only, as Pyruse does: "0" and "1000" are not UIDs', () => {
    const f = make(userExists, { field: 'u' });
    expect(f.test({ u: '0' })).toBe(false);
    expect(f.test({ u: '1000' })).toBe(false);
    expect(f.test({ u: '65534' })).toBe(false);
  });
});

describe('fields python-systemd does not give as text', () => {
  const makeWarned = <A>(module: FilterModule<A>, args: A) => {
    const ctx = fakeContext();
    return { filter: module.create(args, ctx), warnings: ctx.warnings };
  };
  it('a regex on a number never passes, as Python\'s re raises TypeError on it, and check says so for journal int fields', () => {
    const { filter, warnings } = makeWarned(pcre, { field: 'PRIORITY', re: '^[0-3]$' });
    expect(filter.test({ PRIORITY: 3 })).toBe(false);
    expect(warnings.join('\n')).toContain('python-systemd gives PRIORITY as a int');
    const saved = make(pcre, { field: 'fails', re: '^5$' });
    expect(saved.test({ fails: 5 })).toBe(false);
    expect(saved.test({ fails: '5' })).toBe(true);
    expect(make(pcreAny, { field: 'n', re: ['.*'] }).test({ n: null })).toBe(false);
    expect(make(pcre, { field: 'n', re: '^$' }).test({})).toBe(true);
  });
  it('a regex on a UUID field never passes, as under Pyruse, with a warning', () => {
    const { filter, warnings } = makeWarned(pcre, { field: '_BOOT_ID', re: '^[0-9a-f]+$' });
    expect(filter.test({ _BOOT_ID: 'fc2e22bc6ee647b6b90729ab34a250b1' })).toBe(false);
    expect(warnings).toHaveLength(1);
  });
  it('a UUID or datetime field never equals, nor orders with, a JSON value, as under Pyruse, with a warning', () => {
    const uuid = 'fc2e22bc6ee647b6b90729ab34a250b1';
    for (const [module, args] of [
      [equals, { field: 'MESSAGE_ID', value: uuid }], [inFilter, { field: 'MESSAGE_ID', values: [uuid] }],
      [greaterOrEquals, { field: '__REALTIME_TIMESTAMP', value: 0 }], [lowerOrEquals, { field: '_BOOT_ID', value: 'g' }],
    ] as const) {
      const { filter, warnings } = makeWarned(module as FilterModule<unknown>, args);
      expect(filter.test({ MESSAGE_ID: uuid, _BOOT_ID: uuid, __REALTIME_TIMESTAMP: 5 }), JSON.stringify(args)).toBe(false);
      expect(warnings, JSON.stringify(args)).toHaveLength(1);
    }
    expect(make(inFilter, { field: 'MESSAGE_ID', values: [null, uuid] }).test({})).toBe(true);
    expect(make(equals, { field: 'MESSAGE_ID', value: null }).test({})).toBe(true);
  });
});
