import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PERUSE_BIN as PERUSE } from '../helpers/cli.js';
import { ExportText, REMOTE } from '../helpers/journal-fixtures.js';
import { alive, endAfterAll, sleep } from '../helpers/processes.js';
import { nftElements } from './netns.js';

// Firewall commands and sendmail that never exit: real scripts that ignore SIGTERM and leave a
// child holding their stdout, run by the real daemon (journal files, nft in a namespace) and replay.
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';

const { children, netns, startDaemon, tempDir } = endAfterAll();

/**
 * A script deaf to SIGTERM that starts a child holding its stdout and hangs; it appends both pids to
 * `pids`. With `onlyFirst`, only its first call hangs; later calls exec `then`.
 */
function hangingScript(dir: string, name: string, pids: string, then?: string): string {
  const file = path.join(dir, name);
  const marker = path.join(dir, `${name}.hung-once`);
  writeFileSync(file, `#!/bin/bash
${then ? `if [ -e ${marker} ]; then exec ${then} "$@"; fi\ntouch ${marker}` : ''}
trap '' TERM
sleep 600 &
echo "$$ $!" >> ${pids}
while :; do sleep 1; done
`, { mode: 0o755 });
  return file;
}

const pidsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number) : []);

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** SSH failures of `ips` (one entry each), recent, written into a real journal file. */
function writeFailures(journal: string, ips: string[]): void {
  const text = new ExportText();
  const now = Date.now() * 1000;
  ips.forEach((ip, i) => text.entry([
    ['__REALTIME_TIMESTAMP', now - 60_000_000 + i * 1000], ['__MONOTONIC_TIMESTAMP', 1_000_000 + i * 1000],
    ['_BOOT_ID', 'c0ffee00c0ffee00c0ffee00c0ffee00'], ['_HOSTNAME', 'hung'], ['SYSLOG_IDENTIFIER', 'sshd'],
    ['MESSAGE', `Failed password for root from ${ip} port 22 ssh2`],
  ]));
  execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: text.toBuffer(), stdio: ['pipe', 'ignore', 'ignore'] });
}

function daemonConfig(dir: string, journal: string, nft: string[]): string {
  const config = {
    storage: path.join(dir, 'storage'),
    journal: { directory: journal, since: `@${Math.floor(Date.now() / 1000) - 600}` },
    nftBan: { nft, timeoutSeconds: 1 },
    // the hang under test is the ban command's; firewall set-up is proven in firewall-netns.test.ts
    firewall: { manage: false },
    actions: {
      SSH: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for [^ ]+ from (?P<thatIP>[^ ]+) port' } },
        { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
      ],
    },
  };
  const file = path.join(dir, 'peruse.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('a firewall command that never exits', () => {
  it('is killed with its whole process group at its deadline, logged, and its bans are retried: every ban reaches nft', async () => {
    const ns = netns('hung-nft');
    ns.run(['nft', '-f', '-'], TABLES);
    const dir = tempDir('peruse-hung-');
    const journal = path.join(dir, 'journal');
    mkdirSync(journal);
    const pids = path.join(dir, 'nft.pids');
    const nft = hangingScript(dir, 'nft-hangs-once', pids, `ip netns exec ${ns.name} nft`);
    const config = daemonConfig(dir, journal, [nft]);
    writeFailures(journal, ['203.0.113.9']);

    const d = startDaemon(config, dir);
    await waitFor('the hung nft', () => pidsIn(pids).length === 2);
    writeFailures(journal, ['203.0.113.10', '198.51.100.7']); // bans arriving while nft hangs
    await waitFor('every ban in the nft set', () => nftElements(ns, 'ip Inet4 ssh_ban').size === 3, 20_000);
    const banned = [...nftElements(ns, 'ip Inet4 ssh_ban').keys()].sort();
    expect(banned).toEqual(['198.51.100.7', '203.0.113.10', '203.0.113.9']);
    expect(d.stderr()).toMatch(/still running after 1 s: its process group was killed/);
    // logged once the retried command returned (the set may show the element a moment before)
    await waitFor('the retry to be logged', () => /1 ban\(s\) of ip Inet4 ssh_ban applied on retry/.test(d.stderr()), 5000);
    expect(pidsIn(pids).some(alive)).toBe(false);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 60_000);

  it('still running when the daemon stops, it is killed with its child: no orphan is left', async () => {
    const dir = tempDir('peruse-hung-');
    const journal = path.join(dir, 'journal');
    mkdirSync(journal);
    const pids = path.join(dir, 'nft.pids');
    const nft = hangingScript(dir, 'nft-hangs', pids);
    const config = daemonConfig(dir, journal, [nft]);
    // a long deadline: the stop comes first
    writeFileSync(config, readFileSync(config, 'utf8').replace('"timeoutSeconds":1', '"timeoutSeconds":600'));
    writeFailures(journal, ['203.0.113.20']);

    const d = startDaemon(config, dir);
    await waitFor('the hung nft', () => pidsIn(pids).length === 2);
    expect(pidsIn(pids).every(alive)).toBe(true);
    const stopping = Date.now();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(5500);
    await waitFor('the hung nft and its child to be gone', () => !pidsIn(pids).some(alive), 3000);
    expect(d.stderr()).toMatch(/killed 1 command\(s\) still running/);
    // the ban is in the store, for the next start's restore
    const store = JSON.parse(readFileSync(path.join(dir, 'storage', 'bans-nft.json'), 'utf8')) as { bans: { ip: string }[] };
    expect(store.bans.map((b) => b.ip)).toEqual(['203.0.113.20']);
  }, 60_000);
});

describe('a sendmail that never exits', () => {
  it('replay ends, the hung sendmail and its child are killed, and the full queue says once what it dropped', async () => {
    const dir = tempDir('peruse-hung-');
    const pids = path.join(dir, 'sendmail.pids');
    const sendmail = hangingScript(dir, 'sendmail-hangs', pids);
    const config = path.join(dir, 'peruse.json');
    writeFileSync(config, JSON.stringify({
      storage: path.join(dir, 'storage'),
      email: { sendmail: [sendmail], timeoutSeconds: 1 },
      actions: { mail: [{ action: 'action_email', args: { message: 'alert: {MESSAGE}' } }] },
    }));
    const input = path.join(dir, 'entries.jsonl');
    const now = Date.now() * 1000;
    writeFileSync(input, Array.from({ length: 3000 }, (_, i) => JSON.stringify({
      __REALTIME_TIMESTAMP: String(now + i), __CURSOR: `c${i}`, MESSAGE: `event ${i}`,
    })).join('\n') + '\n');

    const started = Date.now();
    const replay = spawn('node', [PERUSE, 'replay', '--config', config, '--input', input], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(replay);
    let stderr = '';
    replay.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => replay.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(40_000);

    expect(pidsIn(pids).length).toBeGreaterThanOrEqual(2);
    await waitFor('every sendmail to be gone', () => !pidsIn(pids).some(alive), 3000);
    expect(stderr).toMatch(/still running after 1 s: its process group was killed/);
    // 3000 messages into a queue of 1000: one line when dropping starts, one with the count
    expect(stderr.match(/email queue full/g)).toHaveLength(1);
    expect(stderr).toMatch(/email queue: 2000 message\(s\) were dropped while the queue was full \(1000\)/);
    expect(stderr.split('\n').length).toBeLessThan(100);
  }, 60_000);
});
