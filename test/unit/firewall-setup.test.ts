import { describe, expect, it } from 'vitest';
import nftBan from '../../actions/action_nftBan.js';
import { testContext } from './bans-context.js';
import { Settings } from '../../src/config/settings.js';
import { besideIpset, firewallOptions, namedBanSets, recordedSets, setsOfBans, nftProblem, nftSetupScript, readTableListing, setupFirewall } from '../../src/net/firewall-setup.js';
import { parseDuration, resolveBanSet } from '../../src/state/ban-admin.js';
import type { CommandRunner } from '../../src/system/exec.js';
import type { Logger } from '../../src/system/log.js';

const PYRUSE_STYLE = {
  actions: {
    SSH: [{ action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 600, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } }],
    Web: [
      { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, banIPv6Prefix: 64, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
      { action: 'action_ipsetBan', args: { IP: 'thatIP', ipSetIPv4: 'web4', ipSetIPv6: 'web6' } },
    ],
  },
};

const quiet: Logger = { debug() {}, info() {}, notice() {}, warn() {}, error() {} } as unknown as Logger;

describe('the sets a config\'s ban steps name', () => {
  it('are found once per backend and set, with the longest ban, and prefix bans marked on the IPv6 set', () => {
    const sets = namedBanSets(PYRUSE_STYLE);
    expect(sets.map((s) => `${s.backend}|${s.set}|${s.family}|${s.prefixes}|${s.banSeconds}`)).toEqual([
      'nft|ip Inet4 ssh_ban|4|false|3600', 'nft|ip6 Inet6 ssh_ban|6|true|3600', 'ipset|web4|4|false|undefined', 'ipset|web6|6|false|undefined']);
    expect(sets[0]!.path).toEqual(['actions', 'SSH', 0, 'args', 'nftSetIPv4']);
  });

  it('a table-qualified Pyruse set gets its table, the set only when missing, peruse\'s chains, and each drop rule not there yet', () => {
    const sets = namedBanSets(PYRUSE_STYLE).filter((s) => s.backend === 'nft');
    const script = nftSetupScript(sets, new Set(['ip Inet4 ssh_ban']), (table, chain, rule) => table === 'ip Inet4' && chain === 'peruse_input' && rule === 'ip saddr @ssh_ban drop');
    expect(script.split('\n')).toEqual([
      'add table ip Inet4',
      'add chain ip Inet4 peruse_input { type filter hook input priority -10; policy accept; }',
      'add chain ip Inet4 peruse_forward { type filter hook forward priority -10; policy accept; }',
      'add rule ip Inet4 peruse_forward ip saddr @ssh_ban drop',
      'add table ip6 Inet6',
      'add set ip6 Inet6 ssh_ban { type ipv6_addr; flags interval, timeout; }',
      'add chain ip6 Inet6 peruse_input { type filter hook input priority -10; policy accept; }',
      'add rule ip6 Inet6 peruse_input ip6 saddr @ssh_ban drop',
      'add chain ip6 Inet6 peruse_forward { type filter hook forward priority -10; policy accept; }',
      'add rule ip6 Inet6 peruse_forward ip6 saddr @ssh_ban drop',
      '',
    ]);
  });

  it('a set whose table family cannot match its addresses is refused with a reason', () => {
    expect(nftProblem({ backend: 'nft', set: 'ip6 t s', family: 4, prefixes: false, path: [], banSeconds: undefined })).toMatch(/cannot match IPv4/);
    expect(nftProblem({ backend: 'nft', set: 'bridge t s', family: 4, prefixes: false, path: [], banSeconds: undefined })).toMatch(/not bridge/);
    expect(nftProblem({ backend: 'nft', set: 't s', family: 4, prefixes: false, path: [], banSeconds: undefined })).toBeUndefined();
  });
});

describe('where iptables runs for ipset rules', () => {
  it('beside the configured ipset: same namespace wrapper, same directory; a recorder script gives none', () => {
    expect(besideIpset(['ip', 'netns', 'exec', 'ns1', 'ipset', '-exist', '-quiet'], 'iptables')).toEqual(['ip', 'netns', 'exec', 'ns1', 'iptables']);
    expect(besideIpset(['/usr/sbin/ipset', '-exist', '-quiet'], 'ip6tables')).toEqual(['/usr/sbin/ip6tables']);
    expect(besideIpset(['/bin/sh', '-c', 'echo "$@" >> cmd'], 'iptables')).toEqual([]);
    expect(firewallOptions(new Settings({ actions: {}, firewall: { iptables: ['/opt/iptables'] } }, '/x.json')).iptables).toEqual(['/opt/iptables']);
  });

  it('with an ipset command that is not ipset, no iptables command runs at all and the problem is reported', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = { async run(argv) { calls.push([...argv]); return { code: 0, stdout: '', stderr: '' }; } };
    const settings = new Settings({ actions: { B: [{ action: 'action_ipsetBan', args: { IP: 'ip', ipSetIPv4: 'b4', ipSetIPv6: 'b6' } }] }, ipsetBan: { ipset: ['/bin/true'] } }, '/x.json');
    const result = await setupFirewall(settings, quiet, runner);
    expect(calls.every((c) => c[0] === '/bin/true')).toBe(true);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toMatch(/no DROP rule made/);
  });

  it('firewall.manage false runs nothing', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = { async run(argv) { calls.push([...argv]); return { code: 0, stdout: '', stderr: '' }; } };
    await setupFirewall(new Settings({ ...PYRUSE_STYLE, firewall: { manage: false } }, '/x.json'), quiet, runner);
    expect(calls).toEqual([]);
  });
});

describe('manual bans', () => {
  it('durations read as an admin writes them', () => {
    expect(parseDuration('3600')).toBe(3600);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2d')).toBe(172800);
    expect(parseDuration('permanent')).toBeNull();
    expect(parseDuration('10 m')).toBeUndefined();
    expect(parseDuration('0')).toBeUndefined();
    expect(parseDuration('1x')).toBeUndefined();
  });

  it('go into the only set of their family, or need --set when there are several', () => {
    const settings = new Settings(PYRUSE_STYLE, '/x.json');
    expect(resolveBanSet(settings, '2001:db8::1', undefined)).toMatch(/several IPv6 sets: choose one with --set \("ip6 Inet6 ssh_ban", "web6"\)/);
    const chosen = resolveBanSet(settings, '192.0.2.1', 'web4');
    expect(typeof chosen === 'object' && `${chosen.backend.name} ${chosen.set}`).toBe('ipset web4');
    const only = resolveBanSet(new Settings({ actions: { S: PYRUSE_STYLE.actions.SSH } }, '/x.json'), '192.0.2.1', undefined);
    expect(typeof only === 'object' && `${only.backend.name} ${only.set} ${only.banSeconds}`).toBe('nft ip Inet4 ssh_ban 600');
    expect(resolveBanSet(new Settings({ actions: {} }, '/x.json'), '192.0.2.1', undefined)).toMatch(/no ban step .* names an IPv4 set/);
    expect(resolveBanSet(settings, '192.0.2.1', 'bad set;name')).toMatch(/not an nftables set path/);
  });
});

describe('sets known otherwise than from the config as written', () => {
  it('each ban step records its sets as built (parameters resolved), for the daemon to make them', () => {
    const { ctx } = testContext();
    nftBan.create({ IP: 'ip', nftSetIPv4: 'inet peruse a4', nftSetIPv6: 'inet peruse a6', banSeconds: 60, banIPv6Prefix: 64 }, ctx);
    nftBan.create({ IP: 'ip', nftSetIPv4: 'inet peruse a4', nftSetIPv6: 'inet peruse a6', banSeconds: 600 }, ctx);
    expect(recordedSets(ctx.state as never).map((s) => `${s.backend}|${s.set}|${s.family}|${s.prefixes}|${s.banSeconds}`))
      .toEqual(['nft|inet peruse a4|4|false|600', 'nft|inet peruse a6|6|true|600']);
  });

  it('stored bans name their sets, family and prefix from the address', () => {
    expect(setsOfBans([{ set: 'inet t b4', ip: '192.0.2.1' }, { set: 'inet t b6', ip: '2001:db8::/64' }, { set: 'inet t b6', ip: '2001:db8::1' }], 'nft')
      .map((s) => `${s.set}|${s.family}|${s.prefixes}`)).toEqual(['inet t b4|4|false', 'inet t b6|6|true']);
  });

  it('a table listing tells its sets and the rules of each chain, so the set-up asks nft once per table', () => {
    const listing = readTableListing([
      'table ip Inet4 {', '\tset ssh_ban {', '\t\ttype ipv4_addr', '\t\tflags timeout', '\t}', '',
      '\tmap ports {', '\t\ttype inet_service : verdict', '\t}', '',
      '\tchain peruse_input {', '\t\ttype filter hook input priority filter - 10; policy accept;', '\t\tip saddr @ssh_ban drop', '\t}', '',
      '\tchain peruse_forward {', '\t\ttype filter hook forward priority filter - 10; policy accept;', '\t}', '}', '',
    ].join('\n'));
    expect([...listing.sets]).toEqual(['ssh_ban']);
    expect([...listing.chains.keys()]).toEqual(['peruse_input', 'peruse_forward']);
    expect(listing.chains.get('peruse_input')!.split('\n').map((l) => l.trim())).toContain('ip saddr @ssh_ban drop');
    expect(listing.chains.get('peruse_forward')).not.toContain('drop');
    // a table that does not exist yet: nft printed nothing
    expect(readTableListing('')).toEqual({ sets: new Set(), chains: new Map() });
  });
});
