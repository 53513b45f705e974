import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import nftBan from '../../actions/action_nftBan.js';
import ipsetBan from '../../actions/action_ipsetBan.js';
import { ConfigError, type ActionInstance, type Entry } from '../../src/modules/api.js';
import { testContext, type TestContext } from './bans-context.js';

const SETS = { nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' };

function nftStep(t: TestContext, extra: Record<string, unknown> = { banSeconds: 3600 }): ActionInstance {
  return nftBan.create({ IP: 'thatIP', ...SETS, ...extra } as Parameters<typeof nftBan.create>[0], t.ctx);
}

async function act(step: ActionInstance, entry: Entry): Promise<void> {
  await step.act(entry);
  await step.stop?.();
}

describe('action_nftBan commands', () => {
  it('runs the configured argv plus ONE argument "add element SET {IP timeout Ns}"', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['nft', 'add element ip Inet4 ssh_ban {1.2.3.4 timeout 3600s}']]);
  });

  it('bans for ever, without a timeout part, when banSeconds is absent', async () => {
    const t = testContext();
    await act(nftStep(t, {}), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['nft', 'add element ip Inet4 ssh_ban {1.2.3.4}']]);
  });

  it('sends an IPv6 address, normalised, to the IPv6 set', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '2001:DB8:0:0::1', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['nft', 'add element ip6 Inet6 ssh_ban {2001:db8::1 timeout 3600s}']]);
  });

  it('bans the IPv4 address of an IPv4-mapped IPv6 address, in the IPv4 set', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '::ffff:192.0.2.7', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['nft', 'add element ip Inet4 ssh_ban {192.0.2.7 timeout 3600s}']]);
  });

  it('bans the whole IPv6 prefix with banIPv6Prefix, but a single IPv4 address', async () => {
    const t = testContext();
    const step = nftStep(t, { banSeconds: 60, banIPv6Prefix: 64 });
    await step.act({ thatIP: '2001:db8:1:2:3:4:5:6', __REALTIME_TIMESTAMP: t.clock.now });
    await act(step, { thatIP: '198.51.100.9', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([
      ['nft', 'add element ip6 Inet6 ssh_ban {2001:db8:1:2::/64 timeout 60s}'],
      ['nft', 'add element ip Inet4 ssh_ban {198.51.100.9 timeout 60s}'],
    ]);
  });

  it('first deletes an address that is still banned, then adds it with the new timeout', async () => {
    const t = testContext();
    const step = nftStep(t);
    await step.act({ thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    t.clock.now += 10e6;
    await act(step, { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([
      ['nft', 'add element ip Inet4 ssh_ban {1.2.3.4 timeout 3600s}'],
      ['nft', 'delete element ip Inet4 ssh_ban {1.2.3.4}'],
      ['nft', 'add element ip Inet4 ssh_ban {1.2.3.4 timeout 3600s}'],
    ]);
  });

  it('does not delete first when the earlier ban has already run out', async () => {
    const t = testContext();
    const step = nftStep(t, { banSeconds: 5 });
    await step.act({ thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    t.clock.now += 6e6;
    await act(step, { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls.map((c) => c[1])).toEqual(['add element ip Inet4 ssh_ban {1.2.3.4 timeout 5s}', 'add element ip Inet4 ssh_ban {1.2.3.4 timeout 5s}']);
  });
});

describe('ban timeout follows event time', () => {
  it('gives the firewall only what is left of the ban when the entry is old (until − now)', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now - 1000e6 });
    expect(t.runner.calls).toEqual([['nft', 'add element ip Inet4 ssh_ban {1.2.3.4 timeout 2600s}']]);
  });

  it('gives the full banSeconds to an entry read a few milliseconds after it was written (live daemon)', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now - 3_000 });
    expect(t.runner.calls[0]![1]).toBe('add element ip Inet4 ssh_ban {1.2.3.4 timeout 3600s}');
  });

  it('never gives more than banSeconds, even for an entry stamped in the future', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now + 500e6 });
    expect(t.runner.calls[0]![1]).toBe('add element ip Inet4 ssh_ban {1.2.3.4 timeout 3600s}');
  });

  it('runs nothing and records nothing when the ban is already over (a backlog after downtime)', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now - 3600e6 });
    expect(t.runner.calls).toEqual([]);
    expect(existsSync(path.join(t.storage, 'bans-nft.json'))).toBe(false);
  });

  it('records until = event time + banSeconds in the store, with the step label as reason', async () => {
    const t = testContext();
    await act(nftStep(t), { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now - 100e6 });
    const stored = JSON.parse(readFileSync(path.join(t.storage, 'bans-nft.json'), 'utf8'));
    expect(stored.bans).toEqual([{ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: (t.clock.now - 100e6) / 1e6 + 3600, reason: 'SSH[3]' }]);
  });
});

describe('hostile input never reaches a command', () => {
  const hostile = ['1.2.3.4;add table ip evil', '1.2.3.4}; flush ruleset; add element ip Inet4 ssh_ban {5.6.7.8', '1.2.3.4\n',
    '1.2.3.4\nflush ruleset', 'evil.example.org', 'x'.repeat(300), '1'.repeat(300), ' 1.2.3.4', '1.2.3.4 ', '01.2.3.4',
    'fe80::1%eth0', '1.2.3.4/0', '', 12345, null, ['1.2.3.4'], { ip: '1.2.3.4' }, undefined];

  it.each(hostile.map((h) => [JSON.stringify(h)?.slice(0, 40) ?? 'undefined', h]))('ignores %s, logs it, and goes on', async (_, value) => {
    const t = testContext();
    const step = nftStep(t);
    expect(() => step.act({ thatIP: value, __REALTIME_TIMESTAMP: t.clock.now })).not.toThrow();
    await act(step, { thatIP: '9.9.9.9', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['nft', 'add element ip Inet4 ssh_ban {9.9.9.9 timeout 3600s}']]);
    expect(t.log.lines.some((l) => l.includes('SSH[3]: no ban, field thatIP is not an IP address'))).toBe(true);
    // the log line itself stays one line and short
    expect(t.log.lines.every((l) => !l.includes('\n') && l.length < 250)).toBe(true);
  });

  it('logs the first ten rejections, then one in a thousand', async () => {
    const t = testContext();
    const step = nftStep(t);
    for (let i = 0; i < 2500; i++) step.act({ thatIP: `evil${i}`, __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.log.lines.filter((l) => l.includes('not an IP address'))).toHaveLength(12);
  });

  it('refuses at config time a set name that could smuggle nft syntax', () => {
    const t = testContext();
    expect(() => nftBan.create({ IP: 'thatIP', nftSetIPv4: 'ip Inet4 x; flush ruleset', nftSetIPv6: 'ip6 Inet6 ssh_ban' }, t.ctx))
      .toThrow(ConfigError);
    try {
      nftBan.create({ IP: 'thatIP', nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 {evil}' }, t.ctx);
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).argsSubPath).toBe('nftSetIPv6');
    }
  });
});

describe('failures and dry-run', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('logs a failing command with its stderr, retries it, and still records the ban', async () => {
    vi.useFakeTimers();
    const t = testContext();
    let failures = 1;
    t.runner.fail = () => (failures-- > 0 ? { code: 1, stdout: '', stderr: 'Error: No such file or directory' } : undefined);
    const step = nftStep(t);
    await step.act({ thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.log.lines.some((l) => l.includes('error') && l.includes('No such file or directory'))).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.runner.calls).toHaveLength(2);
    expect(t.runner.calls[1]).toEqual(t.runner.calls[0]);
    await step.stop?.();
    const stored = JSON.parse(readFileSync(path.join(t.storage, 'bans-nft.json'), 'utf8'));
    expect(stored.bans.map((b: { ip: string }) => b.ip)).toEqual(['1.2.3.4']);
  });

  it('keeps the ban recorded even when every retry fails, so restore applies it', async () => {
    vi.useFakeTimers();
    const t = testContext();
    t.runner.fail = () => ({ code: 1, stdout: '', stderr: 'Error: Could not process rule' });
    const step = nftStep(t);
    await step.act({ thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    await vi.advanceTimersByTimeAsync(40_000);
    expect(t.runner.calls).toHaveLength(4); // the first try and three retries
    expect(t.log.lines.some((l) => l.includes('gave up'))).toBe(true);
    await step.stop?.();
    expect(readFileSync(path.join(t.storage, 'bans-nft.json'), 'utf8')).toContain('1.2.3.4');
  });

  it('never writes the store when state is not persisted (dry-run, check)', async () => {
    const t = testContext({ persist: false });
    const step = nftStep(t);
    await act(step, { thatIP: '1.2.3.4', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toHaveLength(1);
    expect(existsSync(path.join(t.storage, 'bans-nft.json'))).toBe(false);
  });
});

describe('action_ipsetBan commands', () => {
  const ipsetStep = (t: TestContext, extra: Record<string, unknown> = { banSeconds: 600 }) =>
    ipsetBan.create({ IP: 'thatIP', ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6', ...extra } as Parameters<typeof ipsetBan.create>[0], t.ctx);

  it('runs argv + add SET IP timeout N, and del SET IP before a re-ban', async () => {
    const t = testContext();
    const step = ipsetStep(t);
    await step.act({ thatIP: '2001:db8::7', __REALTIME_TIMESTAMP: t.clock.now });
    await act(step, { thatIP: '2001:db8::7', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([
      ['ipset', '-exist', '-quiet', 'add', 'ssh_ban6', '2001:db8::7', 'timeout', '600'],
      ['ipset', '-exist', '-quiet', 'del', 'ssh_ban6', '2001:db8::7'],
      ['ipset', '-exist', '-quiet', 'add', 'ssh_ban6', '2001:db8::7', 'timeout', '600'],
    ]);
  });

  it('adds a permanent ban without a timeout', async () => {
    const t = testContext();
    await act(ipsetStep(t, {}), { thatIP: '192.0.2.1', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['ipset', '-exist', '-quiet', 'add', 'ssh_ban4', '192.0.2.1']]);
  });

  it('banSeconds 0 is a permanent ban, as in Pyruse: no timeout in ipset, until 0 in the store', async () => {
    const t = testContext();
    await act(ipsetStep(t, { banSeconds: 0 }), { thatIP: '192.0.2.9', __REALTIME_TIMESTAMP: t.clock.now });
    expect(t.runner.calls).toEqual([['ipset', '-exist', '-quiet', 'add', 'ssh_ban4', '192.0.2.9']]);
    const stored = JSON.parse(readFileSync(path.join(t.storage, 'bans-ipset.json'), 'utf8'));
    expect(stored.bans).toEqual([expect.objectContaining({ ip: '192.0.2.9', until: 0 })]);
  });

  it('keeps its own store, apart from the nft one', async () => {
    const t = testContext();
    await act(ipsetStep(t), { thatIP: '192.0.2.1', __REALTIME_TIMESTAMP: t.clock.now });
    expect(existsSync(path.join(t.storage, 'bans-ipset.json'))).toBe(true);
    expect(existsSync(path.join(t.storage, 'bans-nft.json'))).toBe(false);
  });

  it('refuses an ipset name with spaces or shell syntax', () => {
    const t = testContext();
    expect(() => ipsetBan.create({ IP: 'thatIP', ipSetIPv4: 'a b', ipSetIPv6: 'ok6' }, t.ctx)).toThrow(ConfigError);
    expect(() => ipsetBan.create({ IP: 'thatIP', ipSetIPv4: 'ok4', ipSetIPv6: '$(reboot)' }, t.ctx)).toThrow(ConfigError);
  });
});
