import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, nftElements, type NetNs } from './netns.js';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const V4 = 'ip Inet4 ssh_ban', V6 = 'ip6 Inet6 ssh_ban';
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags interval,timeout; }; }\n';

function cli(dir: string, ...args: string[]) {
  const result = spawnSync('node', [peruse, ...args, '--config', path.join(dir, 'peruse.json')], { cwd: dir, encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function setup(ns: NetNs, name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `peruse-nft-${name}-`));
  writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
    actions: {
      Permanent: [
        { filter: 'filter_equals', args: { field: 'kind', value: 'permanent' } },
        { action: 'action_nftBan', args: { IP: 'thatIP', nftSetIPv4: V4, nftSetIPv6: V6 } },
      ],
      SSH: [{ action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, banIPv6Prefix: 64, nftSetIPv4: V4, nftSetIPv6: V6 } }],
    },
    nftBan: { nft: [...ns.prefix, 'nft'] },
    storage: path.join(dir, 'storage'),
  }));
  return dir;
}

function replay(dir: string, entries: Record<string, unknown>[]) {
  writeFileSync(path.join(dir, 'in.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return cli(dir, 'replay', '--input', path.join(dir, 'in.jsonl'));
}

describe('nftables bans in a network namespace', () => {
  let ns: NetNs;
  let dir: string;
  const now = () => String(Date.now() * 1000);

  beforeAll(() => {
    ns = createNetNs('nft');
    ns.run(['nft', '-f', '-'], TABLES);
    dir = setup(ns, 'main');
    const result = replay(dir, [
      { __REALTIME_TIMESTAMP: now(), thatIP: '203.0.113.5' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '2001:db8:aa:bb:1:2:3:4' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '::ffff:198.51.100.77' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '192.0.2.99', kind: 'permanent' },
      // replay's clock is the entries' time: an old entry still gets its full banSeconds
      { __REALTIME_TIMESTAMP: String(Date.now() * 1000 - 4200e6), thatIP: '203.0.113.250' },
    ]);
    expect(result.code, result.err).toBe(0);
  });
  afterAll(() => ns?.remove());

  it('after a replay, nft list set shows the banned addresses with their timeouts', () => {
    const v4 = nftElements(ns, V4);
    expect([...v4.keys()].sort()).toEqual(['192.0.2.99', '198.51.100.77', '203.0.113.250', '203.0.113.5']);
    expect(v4.get('203.0.113.5')).toBe(3600);
    expect(v4.get('203.0.113.250')).toBe(3600);
    expect(v4.get('198.51.100.77')).toBe(3600);
    expect(v4.get('192.0.2.99')).toBeUndefined();
    expect([...nftElements(ns, V6).entries()]).toEqual([['2001:db8:aa:bb::/64', 3600]]);
  });

  it('lists the stored bans still holding by the wall clock, with remaining time and the banning step', () => {
    const { code, out } = cli(dir, 'bans', 'list', '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(out) as { set: string; ip: string; remainingSeconds: number | null; reason: string }[];
    expect(rows.map((r) => `${r.set}|${r.ip}|${r.reason}`).sort()).toEqual([
      `${V4}|192.0.2.99|Permanent[1]`, `${V4}|198.51.100.77|SSH[0]`, `${V4}|203.0.113.5|SSH[0]`, `${V6}|2001:db8:aa:bb::/64|SSH[0]`]);
    expect(rows.find((r) => r.ip === '192.0.2.99')!.remainingSeconds).toBeNull();
    expect(rows.find((r) => r.ip === '203.0.113.5')!.remainingSeconds).toBeGreaterThan(3500);
    expect(cli(dir, 'bans', 'list').out).toMatch(/nft\s+ip Inet4 ssh_ban\s+192\.0\.2\.99\s+permanent\s+Permanent\[1\]/);
  });

  it('unban removes the address from the kernel set and the store, and restore does not bring it back', () => {
    const { code, out } = cli(dir, 'bans', 'unban', '203.0.113.5');
    expect(code).toBe(0);
    expect(out).toContain('unbanned 203.0.113.5');
    expect(nftElements(ns, V4).has('203.0.113.5')).toBe(false);
    expect(readFileSync(path.join(dir, 'storage/bans-nft.json'), 'utf8')).not.toContain('203.0.113.5');
    ns.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    expect(cli(dir, 'bans', 'restore').code).toBe(0);
    expect([...nftElements(ns, V4).keys()].sort()).toEqual(['192.0.2.99', '198.51.100.77']);
  });

  it('unban of an address that is not banned says so and fails', () => {
    const { code, err } = cli(dir, 'bans', 'unban', '203.0.113.6');
    expect(code).toBe(1);
    expect(err).toContain('not banned');
  });

  it('restore into emptied sets brings back every live ban with its remaining timeout', () => {
    ns.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    ns.run(['nft', 'flush', 'set', ...V6.split(' ')]);
    const { code, out } = cli(dir, 'bans', 'restore');
    expect(code).toBe(0);
    expect(out).toMatch(/nft: restored 3 bans/);
    const v4 = nftElements(ns, V4);
    expect(v4.get('192.0.2.99')).toBeUndefined();
    expect(v4.get('198.51.100.77')).toBeGreaterThan(3500);
    expect(v4.get('198.51.100.77')).toBeLessThanOrEqual(3600);
    expect(nftElements(ns, V6).has('2001:db8:aa:bb::/64')).toBe(true);
  });

  it('restore over sets that still hold the bans (a daemon restart) succeeds and resets their timeouts', () => {
    ns.run(['nft', 'add', 'element', ...V4.split(' '), '{ 198.51.100.77 timeout 5s }']);
    expect(cli(dir, 'bans', 'restore').code).toBe(0);
    expect(nftElements(ns, V4).get('198.51.100.77')).toBeGreaterThan(3500);
  });

  it('imports Pyruse\'s action_nftBan.py.json on first start: restore applies its live bans and writes peruse\'s store', () => {
    const migrated = setup(ns, 'pyruse');
    ns.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    mkdirSync(path.join(migrated, 'storage'));
    const now = Date.now() / 1000;
    writeFileSync(path.join(migrated, 'storage/action_nftBan.py.json'), JSON.stringify([
      { IP: '37.49.226.159', nfSet: V4, timestamp: now + 7200 },
      { IP: '71.6.167.142', nfSet: V4, timestamp: 0 },
      { IP: '91.200.12.96', nfSet: V4, timestamp: now - 60 },
    ]));
    const { code, err } = cli(migrated, 'bans', 'restore');
    expect(code, err).toBe(0);
    const v4 = nftElements(ns, V4);
    expect([...v4.keys()].sort()).toEqual(['37.49.226.159', '71.6.167.142']);
    expect(v4.get('37.49.226.159')).toBeGreaterThan(7100);
    expect(v4.get('71.6.167.142')).toBeUndefined();
    const stored = JSON.parse(readFileSync(path.join(migrated, 'storage/bans-nft.json'), 'utf8')) as { bans: { ip: string }[] };
    expect(stored.bans.map((b) => b.ip).sort()).toEqual(['37.49.226.159', '71.6.167.142']);
  });

  it('restores 20 000 stored bans in one transaction: 20 000 elements in the set', () => {
    const big = setup(ns, 'big');
    ns.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    const until = Date.now() / 1000 + 86400;
    const bans = Array.from({ length: 20_000 }, (_, i) => ({ set: V4, ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, until, reason: 'SSH[0]' }));
    mkdirSync(path.join(big, 'storage'));
    writeFileSync(path.join(big, 'storage/bans-nft.json'), JSON.stringify({ version: 1, bans }));
    const started = performance.now();
    const { code, out, err } = cli(big, 'bans', 'restore');
    const seconds = (performance.now() - started) / 1000;
    expect(code, err).toBe(0);
    expect(out).toContain('nft: restored 20000 bans');
    expect(nftElements(ns, V4).size).toBe(20_000);
    process.stdout.write(`nft restore of 20 000 bans: ${seconds.toFixed(3)} s including node start (${out.trim()})\n`);
  });

  it('a burst of 3 000 bans (with re-bans) lands in the set through a handful of merged nft commands, each ban with its timeout', () => {
    const burst = mkdtempSync(path.join(tmpdir(), 'peruse-nft-burst-'));
    ns.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    // a wrapper counting the commands peruse runs, then running the real nft in the namespace
    writeFileSync(path.join(burst, 'peruse.json'), JSON.stringify({
      actions: { SSH: [{ action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: V4, nftSetIPv6: V6 } }] },
      nftBan: { nft: ['sh', '-c', 'echo "$5" | cut -c1-20 >> commands.log; exec "$0" "$@"', ...ns.prefix, 'nft'] },
      storage: path.join(burst, 'storage'),
    }));
    const start = Date.now() * 1000;
    const entries = Array.from({ length: 3000 }, (_, i) => ({ __REALTIME_TIMESTAMP: String(start + i), thatIP: `10.9.${i >> 8}.${i & 255}` }));
    // the first 100 again, half an hour later: a re-ban deletes, then adds with the new timeout
    for (let i = 0; i < 100; i++) entries.push({ __REALTIME_TIMESTAMP: String(start + 1800e6), thatIP: `10.9.0.${i}` });
    const result = replay(burst, entries);
    expect(result.code, result.err).toBe(0);
    const elements = nftElements(ns, V4);
    expect(elements.size).toBe(3000);
    for (let i = 0; i < 3000; i++) expect(elements.has(`10.9.${i >> 8}.${i & 255}`)).toBe(true);
    const commands = readFileSync(path.join(burst, 'commands.log'), 'utf8').trim().split('\n');
    expect(commands.length).toBeLessThan(100);
    expect(commands.some((c) => c.startsWith('delete element'))).toBe(true);
    // the re-banned ones hold the full new hour from the later entry's time (replay clock)
    expect(elements.get('10.9.0.5')).toBeGreaterThan(3500);
  });
});
