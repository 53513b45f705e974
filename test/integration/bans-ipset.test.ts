import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, ipsetMembers, type NetNs } from './netns.js';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');

function cli(dir: string, ...args: string[]) {
  const result = spawnSync('node', [peruse, ...args, '--config', path.join(dir, 'peruse.json')], { cwd: dir, encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function setup(ns: NetNs, name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `peruse-ipset-${name}-`));
  writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
    actions: {
      Permanent: [
        { filter: 'filter_equals', args: { field: 'kind', value: 'permanent' } },
        { action: 'action_ipsetBan', args: { IP: 'thatIP', ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6' } },
      ],
      SSH: [{ action: 'action_ipsetBan', args: { IP: 'thatIP', banSeconds: 3600, ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6' } }],
    },
    ipsetBan: { ipset: [...ns.prefix, 'ipset', '-exist', '-quiet'] },
    storage: path.join(dir, 'storage'),
  }));
  return dir;
}

describe('ipset bans in a network namespace', () => {
  let ns: NetNs;
  let dir: string;
  const now = () => String(Date.now() * 1000);

  beforeAll(() => {
    ns = createNetNs('ipset');
    ns.run(['ipset', 'create', 'ssh_ban4', 'hash:ip', 'family', 'inet', 'timeout', '0', 'maxelem', '65536']);
    ns.run(['ipset', 'create', 'ssh_ban6', 'hash:ip', 'family', 'inet6', 'timeout', '0']);
    dir = setup(ns, 'main');
    writeFileSync(path.join(dir, 'in.jsonl'), [
      { __REALTIME_TIMESTAMP: now(), thatIP: '203.0.113.5' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '2001:DB8::5' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '192.0.2.99', kind: 'permanent' },
      { __REALTIME_TIMESTAMP: now(), thatIP: '203.0.113.5' }, // a re-ban: del, then add
      { __REALTIME_TIMESTAMP: now(), thatIP: '198.51.100.1 -exist flush' },
    ].map((e) => JSON.stringify(e)).join('\n') + '\n');
    const result = cli(dir, 'replay', '--input', path.join(dir, 'in.jsonl'));
    expect(result.code, result.err).toBe(0);
  });
  afterAll(() => ns?.remove());

  it('after a replay, ipset list shows the banned addresses with their timeouts', () => {
    const v4 = ipsetMembers(ns, 'ssh_ban4');
    expect([...v4.keys()].sort()).toEqual(['192.0.2.99', '203.0.113.5']);
    expect(v4.get('203.0.113.5')).toBeGreaterThan(3590);
    expect(v4.get('192.0.2.99')).toBe(0); // a set with default timeout 0: the element never expires
    expect([...ipsetMembers(ns, 'ssh_ban6').keys()]).toEqual(['2001:db8::5']);
  });

  it('unban removes the address from the ipset and the store', () => {
    const { code, out } = cli(dir, 'bans', 'unban', '2001:db8::5', '--set', 'ssh_ban6');
    expect(code).toBe(0);
    expect(out).toContain('unbanned 2001:db8::5 from ipset set ssh_ban6');
    expect(ipsetMembers(ns, 'ssh_ban6').size).toBe(0);
    expect(readFileSync(path.join(dir, 'storage/bans-ipset.json'), 'utf8')).not.toContain('2001:db8::5');
  });

  it('restore into emptied sets brings back every live ban, and only those', () => {
    ns.run(['ipset', 'flush', 'ssh_ban4']);
    ns.run(['ipset', 'flush', 'ssh_ban6']);
    const { code, out } = cli(dir, 'bans', 'restore');
    expect(code).toBe(0);
    expect(out).toMatch(/ipset: restored 2 bans/);
    const v4 = ipsetMembers(ns, 'ssh_ban4');
    expect([...v4.keys()].sort()).toEqual(['192.0.2.99', '203.0.113.5']);
    expect(v4.get('203.0.113.5')).toBeGreaterThan(3500);
    expect(ipsetMembers(ns, 'ssh_ban6').size).toBe(0);
  });

  it('restores 20 000 stored bans in one ipset restore: 20 000 members', () => {
    const big = setup(ns, 'big');
    ns.run(['ipset', 'flush', 'ssh_ban4']);
    const until = Date.now() / 1000 + 86400;
    const bans = Array.from({ length: 20_000 }, (_, i) => ({ set: 'ssh_ban4', ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, until, reason: 'SSH[0]' }));
    mkdirSync(path.join(big, 'storage'));
    writeFileSync(path.join(big, 'storage/bans-ipset.json'), JSON.stringify({ version: 1, bans }));
    const started = performance.now();
    const { code, out, err } = cli(big, 'bans', 'restore');
    const seconds = (performance.now() - started) / 1000;
    expect(code, err).toBe(0);
    expect(out).toContain('ipset: restored 20000 bans');
    expect(ipsetMembers(ns, 'ssh_ban4').size).toBe(20_000);
    process.stdout.write(`ipset restore of 20 000 bans: ${seconds.toFixed(3)} s including node start (${out.trim()})\n`);
  });

  it('a burst of 3 000 bans lands in the ipset through a handful of merged ipset restore commands', () => {
    const burst = mkdtempSync(path.join(tmpdir(), 'peruse-ipset-burst-'));
    ns.run(['ipset', 'flush', 'ssh_ban4']);
    writeFileSync(path.join(burst, 'peruse.json'), JSON.stringify({
      actions: { SSH: [{ action: 'action_ipsetBan', args: { IP: 'thatIP', banSeconds: 3600, ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6' } }] },
      ipsetBan: { ipset: ['sh', '-c', 'echo "$7" >> commands.log; exec "$0" "$@"', ...ns.prefix, 'ipset', '-exist', '-quiet'] },
      storage: path.join(burst, 'storage'),
    }));
    const now = Date.now() * 1000;
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ __REALTIME_TIMESTAMP: String(now + i), thatIP: `10.8.${i >> 8}.${i & 255}` }));
    writeFileSync(path.join(burst, 'in.jsonl'), lines.join('\n') + '\n');
    const { code, err } = cli(burst, 'replay', '--input', path.join(burst, 'in.jsonl'));
    expect(code, err).toBe(0);
    const members = ipsetMembers(ns, 'ssh_ban4');
    expect(members.size).toBe(3000);
    expect(members.get('10.8.11.183')).toBeGreaterThan(3500);
    const commands = readFileSync(path.join(burst, 'commands.log'), 'utf8').trim().split('\n');
    expect(commands.length).toBeLessThan(100);
    expect(commands).toContain('restore');
  });
});
