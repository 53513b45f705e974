import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Settings } from '../../src/config/settings.js';
import { ipsetBackend, nftBackend, remainingSeconds } from '../../src/net/ban-commands.js';
import { restoreBans } from '../../src/state/ban-restore.js';
import { memoryLogger } from '../../src/system/log.js';
import { fakeRunner } from './bans-context.js';

const NOW_S = 1_767_225_600;
const now = () => NOW_S * 1e6;

function setup(files: Record<string, unknown>) {
  const storage = mkdtempSync(path.join(tmpdir(), 'peruse-restore-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(storage, name), JSON.stringify(content));
  const settings = new Settings({ storage, nftBan: { nft: ['nft'] } }, path.join(storage, 'peruse.json'));
  return { settings, runner: fakeRunner(), log: memoryLogger() };
}

describe('restore of stored bans', () => {
  it('applies every live nft ban in ONE `nft -f -` transaction with its remaining time', async () => {
    const { settings, runner, log } = setup({ 'bans-nft.json': { version: 1, bans: [
      { set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW_S + 100, reason: 'SSH[3]' },
      { set: 'ip Inet4 ssh_ban', ip: '5.6.7.8', until: 0, reason: 'Recidive[0]' },
      { set: 'ip6 Inet6 ssh_ban', ip: '2001:db8::/64', until: NOW_S + 50, reason: 'SSH[3]' },
      { set: 'ip Inet4 ssh_ban', ip: '9.9.9.9', until: NOW_S - 1, reason: 'expired' },
    ] } });
    const results = await restoreBans(settings, log, runner, { nowMicros: now });
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]).toEqual(['nft', '-f', '-']);
    expect(results).toEqual([{ backend: 'nft', applied: 3, failedSets: [], seconds: expect.any(Number) }]);
  });

  it('writes add, delete, add per set so existing elements get exactly the remaining timeout', () => {
    const { stdin } = nftBackend.restore([
      { set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', seconds: 100 },
      { set: 'ip Inet4 ssh_ban', ip: '5.6.7.8' },
      { set: 'ip6 Inet6 ssh_ban', ip: '2001:db8::/64', seconds: 50 },
    ]);
    expect(stdin).toBe([
      'add element ip Inet4 ssh_ban { 1.2.3.4, 5.6.7.8 }',
      'delete element ip Inet4 ssh_ban { 1.2.3.4, 5.6.7.8 }',
      'add element ip Inet4 ssh_ban { 1.2.3.4 timeout 100s, 5.6.7.8 }',
      'add element ip6 Inet6 ssh_ban { 2001:db8::/64 }',
      'delete element ip6 Inet6 ssh_ban { 2001:db8::/64 }',
      'add element ip6 Inet6 ssh_ban { 2001:db8::/64 timeout 50s }',
    ].join('\n') + '\n');
  });

  it('feeds ipset restore with -exist so present elements take the new timeout', () => {
    const { args, stdin } = ipsetBackend.restore([{ set: 'ssh_ban4', ip: '1.2.3.4', seconds: 100 }, { set: 'ssh_ban6', ip: '2001:db8::1' }]);
    expect(args).toEqual(['-exist', 'restore']);
    expect(stdin).toBe('add ssh_ban4 1.2.3.4 timeout 100\nadd ssh_ban6 2001:db8::1\n');
  });

  it('runs nothing when no ban is stored', async () => {
    const { settings, runner, log } = setup({});
    expect(await restoreBans(settings, log, runner, { nowMicros: now })).toEqual([]);
    expect(runner.calls).toEqual([]);
  });

  it('tries set by set when the transaction fails, so one missing set does not cost the others their bans', async () => {
    const { settings, runner, log } = setup({ 'bans-nft.json': { version: 1, bans: [
      { set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: 0, reason: 'a' },
      { set: 'ip Inet4 gone', ip: '5.6.7.8', until: 0, reason: 'b' },
    ] } });
    const stdins: string[] = [];
    runner.run = async (argv, options) => {
      runner.calls.push([...argv]);
      const stdin = String(options?.stdin);
      stdins.push(stdin);
      return stdin.includes('gone') ? { code: 1, stdout: '', stderr: 'Error: No such file or directory' } : { code: 0, stdout: '', stderr: '' };
    };
    const results = await restoreBans(settings, log, runner, { nowMicros: now });
    expect(stdins).toHaveLength(3);
    expect(results[0]).toMatchObject({ applied: 1, failedSets: ['ip Inet4 gone'] });
    expect(log.lines.some((l) => l.includes('No such file or directory'))).toBe(true);
  });

  it('restores bans imported from Pyruse\'s ipset file on first start', async () => {
    const { settings, runner, log } = setup({ 'action_ipsetBan.py.json': [
      { IP: '192.0.2.1', nfSet: 'ssh_ban4', timestamp: NOW_S + 30 }, { IP: '192.0.2.2', nfSet: 'ssh_ban4', timestamp: 0 }] });
    const stdins: string[] = [];
    runner.run = async (argv, options) => { runner.calls.push([...argv]); stdins.push(String(options?.stdin)); return { code: 0, stdout: '', stderr: '' }; };
    await restoreBans(settings, log, runner, { nowMicros: now });
    expect(runner.calls).toEqual([['/usr/sbin/ipset', '-exist', '-quiet', '-exist', 'restore']]);
    expect(stdins[0]).toBe('add ssh_ban4 192.0.2.1 timeout 30\nadd ssh_ban4 192.0.2.2\n');
  });
});

describe('ban command pieces', () => {
  it('computes the remaining seconds, capped at banSeconds, undefined for a permanent ban', () => {
    expect(remainingSeconds(0, 5e6, 10)).toBeUndefined();
    expect(remainingSeconds(105e6, 5e6, 3600)).toBe(100);
    expect(remainingSeconds(105e6, 5e6, 60)).toBe(60);
    expect(remainingSeconds(5e6, 5e6, 60)).toBe(0);
  });

  it('accepts nftables set paths with or without a family, and nothing else', () => {
    for (const ok of ['ip Inet4 ssh_ban', 'ip6 Inet6 mail_ban', 'inet filter ban.v4', 'Inet4 ssh_ban']) expect(nftBackend.checkSet(ok)).toBeUndefined();
    for (const bad of ['ssh_ban', 'ipx Inet4 ssh_ban', 'ip Inet4 ssh_ban;', 'ip  Inet4 ssh_ban', 'ip Inet4 ssh_ban\n', 'ip Inet4 {x}', 'ip Inet4 "x"', 'ip Inet4 @x'])
      expect(nftBackend.checkSet(bad)).toBeDefined();
  });

  it('caps ipset timeouts at what ipset accepts', () => {
    expect(ipsetBackend.addArgs('s', '1.2.3.4', 10 ** 9)).toEqual(['add', 's', '1.2.3.4', 'timeout', '2147483']);
  });
});
