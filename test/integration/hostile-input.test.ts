import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, ipsetMembers, nftElements, type NetNs } from './netns.js';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');

// what an attacker controls: the text between "from " and " port" in an sshd line
const HOSTILE = [
  '1.2.3.4;add table ip evil',
  '1.2.3.4}; flush ruleset; add element ip Inet4 ssh_ban {6.6.6.6',
  '1.2.3.4\nadd table ip evil',
  '1.2.3.4 -exist flush',
  '$(touch /tmp/peruse-pwned)',
  'evil.example.org',
  '1'.repeat(300),
  'fe80::1%eth0',
  '::ffff:1.2.3.4;x',
];

describe('hostile input through real nft and ipset', () => {
  let ns: NetNs;
  let dir: string;
  let result: { status: number | null; stderr: string };
  const recorded = (file: string) => (existsSync(path.join(dir, file)) ? readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n') : []);

  beforeAll(() => {
    ns = createNetNs('hostile');
    ns.run(['nft', '-f', '-'], 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n');
    ns.run(['ipset', 'create', 'ssh_ban4', 'hash:ip', 'family', 'inet', 'timeout', '0']);
    ns.run(['ipset', 'create', 'ssh_ban6', 'hash:ip', 'family', 'inet6', 'timeout', '0']);
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-hostile-'));
    // each command line is appended to a file (its arguments space-joined) before it runs in the namespace
    const recorder = (file: string, tool: string) => ['/bin/sh', '-c', `printf '%s\\n' "$*" >>${file}; exec ${ns.prefix.join(' ')} ${tool} "$@"`, 'sh'];
    writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
      actions: {
        SSH: [
          { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for [^ ]+ from (?P<thatIP>[\\s\\S]+?) port [0-9]+ ssh2$' } },
          { action: 'action_ipsetBan', args: { IP: 'thatIP', banSeconds: 600, ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6' } },
          { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 600, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
        ],
      },
      nftBan: { nft: recorder('nft.cmd', 'nft') },
      ipsetBan: { ipset: recorder('ipset.cmd', 'ipset -exist -quiet') },
      storage: path.join(dir, 'storage'),
    }));
    const now = Date.now() * 1000;
    const lines = [...HOSTILE, '203.0.113.9'].map((ip, i) =>
      JSON.stringify({ __REALTIME_TIMESTAMP: String(now + i), SYSLOG_IDENTIFIER: 'sshd', MESSAGE: `Failed password for root from ${ip} port 22 ssh2` }));
    writeFileSync(path.join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    const run = spawnSync('node', [peruse, 'replay', '--config', path.join(dir, 'peruse.json'), '--input', path.join(dir, 'in.jsonl')], { cwd: dir, encoding: 'utf8' });
    result = { status: run.status, stderr: run.stderr };
  });
  afterAll(() => ns?.remove());

  it('goes on to the end (exit 0) and bans the one real address that follows the hostile lines', () => {
    expect(result.status, result.stderr).toBe(0);
    expect([...nftElements(ns, 'ip Inet4 ssh_ban').keys()]).toEqual(['203.0.113.9']);
    expect([...ipsetMembers(ns, 'ssh_ban4').keys()]).toEqual(['203.0.113.9']);
  });

  it('runs no command for a hostile value: only the real address ever reached nft and ipset', () => {
    expect(recorded('nft.cmd')).toEqual(['add element ip Inet4 ssh_ban {203.0.113.9 timeout 600s}']);
    expect(recorded('ipset.cmd')).toEqual(['add ssh_ban4 203.0.113.9 timeout 600']);
  });

  it('leaves the firewall without any injected table or flushed set', () => {
    const ruleset = ns.run(['nft', 'list', 'ruleset']);
    expect(ruleset).not.toContain('evil');
    expect(ruleset).toContain('table ip6 Inet6');
    expect(existsSync('/tmp/peruse-pwned')).toBe(false);
  });

  it('logs each hostile value once per action, escaped on one line, with the step label', () => {
    const warnings = result.stderr.split('\n').filter((l) => l.includes('is not an IP address'));
    expect(warnings.filter((l) => l.includes('SSH[1]'))).toHaveLength(HOSTILE.length);
    expect(warnings.filter((l) => l.includes('SSH[2]'))).toHaveLength(HOSTILE.length);
    expect(warnings.some((l) => l.includes('"1.2.3.4\\nadd table ip evil"'))).toBe(true);
    expect(warnings.some((l) => l.includes('(300 chars)'))).toBe(true);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
