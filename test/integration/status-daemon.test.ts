// `peruse status` and `peruse bans ban|unban` through a real daemon: `peruse run` follows a real
// journal directory (written by systemd-journal-remote), bans into nft inside a network namespace,
// and answers on its control socket.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, nftElements, type NetNs } from './netns.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync)!;
const BOOT = randomBytes(16).toString('hex');
const V4 = 'inet peruse ban4', V6 = 'inet peruse ban6';

// a step that throws on one message: the status must count it as a step error
const BOOM = `export default { kind: 'action', name: 'action_boom', summary: 'test: throws', create() {
  return { reads: ['MESSAGE'], act(entry) { if (entry.MESSAGE === 'boom') throw new Error('boom'); } };
} };`;

let ns: NetNs;
let dir: string;
let socket: string;
let daemon: ChildProcess;
let stderr = '';
let started: number;

function exportEntry(message: string, micros: bigint): Buffer {
  return Buffer.from([`__REALTIME_TIMESTAMP=${micros}`, `__MONOTONIC_TIMESTAMP=${micros - 1_700_000_000_000_000n}`, `_BOOT_ID=${BOOT}`,
    '_HOSTNAME=web1', 'SYSLOG_IDENTIFIER=sshd', 'PRIORITY=5', `MESSAGE=${message}`, '', ''].join('\n'));
}

function writeJournal(messages: string[]): void {
  const now = BigInt(Date.now()) * 1000n;
  execFileSync(REMOTE, ['-o', path.join(dir, 'journal', 'remote.journal'), '-'],
    { input: Buffer.concat(messages.map((m, i) => exportEntry(m, now + BigInt(i)))), stdio: ['pipe', 'ignore', 'ignore'] });
}

function peruse(...args: string[]) {
  const r = spawnSync(process.execPath, [PERUSE, ...args], { encoding: 'utf8', env: { ...process.env, PERUSE_CONTROL_SOCKET: socket } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Status {
  pid: number; upSince: string; uptimeSeconds: number; config: { file: string; loadedAt: string };
  journal: { cursor: string | null; lastEntryTime: string | null; lagSeconds: number | null };
  entries: { total: number; perSecond: number };
  bans: { active: Record<string, Record<string, number>>; lastHour: number };
  emails: { sent: number; failed: number; lastHour: number };
  stepErrors: Record<string, number>;
  lastReportSent: string | null;
}

function status(): Status {
  const r = peruse('status', '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Status;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; daemon stderr:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  ns = createNetNs('status');
  dir = mkdtempSync(path.join(tmpdir(), 'peruse-status-'));
  socket = path.join(dir, 'run', 'control.sock');
  mkdirSync(path.join(dir, 'journal'));
  mkdirSync(path.join(dir, 'modules'));
  writeFileSync(path.join(dir, 'modules', 'action_boom.mjs'), BOOM);
  writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
    actions: {
      Boom: [{ filter: 'filter_equals', args: { field: 'MESSAGE', value: 'boom' } }, { action: 'action_boom' }],
      SSH: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for \\S+ from (?P<thatIP>\\S+) port' } },
        { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: V4, nftSetIPv6: V6 } },
        { action: 'action_email', args: { message: 'banned {thatIP}' } },
        { action: 'action_dailyReport', args: { level: 'WARN', message: 'banned {thatIP}' } },
      ],
    },
    email: { from: 'peruse@test', to: ['root@test'], subject: 'test', sendmail: ['/bin/sh', '-c', 'cat >/dev/null'] },
    nftBan: { nft: [...ns.prefix, 'nft'] },
    storage: path.join(dir, 'storage'),
    modules: 'modules',
    journal: { directory: path.join(dir, 'journal') },
  }));
  started = Date.now();
  daemon = spawn(process.execPath, [PERUSE, 'run', '--config', path.join(dir, 'peruse.json')],
    { env: { ...process.env, PERUSE_CONTROL_SOCKET: socket }, stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr!.on('data', (d) => { stderr += d; });
  await waitFor('the daemon to follow the journal', () => /following the journal/.test(stderr));
}, 60_000);

afterAll(() => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  ns?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.sequential('peruse status and bans through a running daemon', () => {
  it('the control socket is root only: mode 0600 in a directory of mode 0700', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
  });

  it('at start the daemon made the sets its ban steps name and the rules dropping their traffic', () => {
    const table = ns.run(['nft', 'list', 'table', 'inet', 'peruse']);
    expect(table).toMatch(/set ban4 \{\s*type ipv4_addr\s*flags timeout/);
    expect(table).toMatch(/set ban6 \{\s*type ipv6_addr\s*flags timeout/);
    expect(table.match(/ip saddr @ban4 drop/g)).toHaveLength(2);
    expect(table.match(/ip6 saddr @ban6 drop/g)).toHaveLength(2);
  });

  it('status --json shows the daemon\'s figures: entries, journal position, bans per set, emails, step errors, config', async () => {
    writeJournal(['Failed password for root from 203.0.113.7 port 4242 ssh2', 'boom', 'Failed password for bob from 2001:db8::7 port 4243 ssh2', 'routine line']);
    await waitFor('both bans in nft', () => nftElements(ns, V4).has('203.0.113.7') && nftElements(ns, V6).has('2001:db8::7'));
    await waitFor('the entries', () => status().entries.total >= 4);
    const s = status();
    const cursors = execFileSync('journalctl', ['--directory', path.join(dir, 'journal'), '--merge', '-o', 'export', '--output-fields=__CURSOR'])
      .toString().split('\n').filter((l) => l.startsWith('__CURSOR=')).map((l) => l.slice('__CURSOR='.length));
    expect(s.pid).toBe(daemon.pid);
    expect(Date.parse(s.upSince)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(s.upSince)).toBeLessThanOrEqual(Date.now());
    expect(s.config.file).toBe(path.join(dir, 'peruse.json'));
    expect(Date.parse(s.config.loadedAt)).toBeGreaterThanOrEqual(started - 1000);
    expect(s.entries.total).toBe(4);
    expect(s.entries.perSecond).toBeGreaterThan(0);
    expect(s.journal.cursor).toBe(cursors.at(-1));
    expect(s.journal.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(s.journal.lagSeconds).toBeLessThan(60);
    expect(s.bans.active).toEqual({ nft: { [V4]: 1, [V6]: 1 } });
    expect(s.bans.lastHour).toBe(2);
    await waitFor('the emails', () => status().emails.sent === 2);
    expect(status().emails.lastHour).toBe(2);
    expect(s.stepErrors).toEqual({ 'Boom[1]': 1 });
    expect(s.lastReportSent).toBeNull();
  });

  it('status without --json prints the same figures for a human', () => {
    const r = peruse('status');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^daemon +running, pid ${daemon.pid}, up since `, 'm'));
    expect(r.out).toMatch(/^entries +4 processed/m);
    expect(r.out).toMatch(new RegExp(`^bans +nft ${V4}: 1; nft ${V6}: 1; 2 in the last hour`, 'm'));
    expect(r.out).toMatch(/^step errors +Boom\[1\]: 1/m);
  });

  it('bans ban goes through the daemon: the address lands in nft and in the daemon\'s store, and status counts it', async () => {
    const r = peruse('bans', 'ban', '198.51.100.9', '--for', '10m', '--config', path.join(dir, 'peruse.json'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`banned 198.51.100.9 in nft set ${V4} for 600 s\n`);
    await waitFor('the daemon\'s log line', () => /control: banned 198\.51\.100\.9/.test(stderr)); // the daemon did it, not the command
    const timeout = nftElements(ns, V4).get('198.51.100.9');
    expect(timeout).toBeGreaterThan(590);
    expect(timeout).toBeLessThanOrEqual(600);
    const s = status();
    expect(s.bans.active.nft![V4]).toBe(2);
    expect(s.bans.lastHour).toBe(3);
    await waitFor('the store file', () => readFileSync(path.join(dir, 'storage', 'bans-nft.json'), 'utf8').includes('198.51.100.9'));
    const stored = JSON.parse(readFileSync(path.join(dir, 'storage', 'bans-nft.json'), 'utf8')) as { bans: { set: string; ip: string; reason: string }[] };
    expect(stored.bans.map((b) => `${b.set}|${b.ip}`).sort()).toEqual([`${V4}|198.51.100.9`, `${V4}|203.0.113.7`, `${V6}|2001:db8::7`]);
  });

  it('bans unban goes through the daemon: gone from nft, from the store and from status', async () => {
    const r = peruse('bans', 'unban', '203.0.113.7', '--config', path.join(dir, 'peruse.json'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`unbanned 203.0.113.7 from nft set ${V4}\n`);
    expect(nftElements(ns, V4).has('203.0.113.7')).toBe(false);
    expect(status().bans.active.nft![V4]).toBe(1);
    await waitFor('the store file', () => !readFileSync(path.join(dir, 'storage', 'bans-nft.json'), 'utf8').includes('203.0.113.7'));
  });

  it('a ban for another config file is not the daemon\'s business: the command acts directly on that config\'s store', () => {
    const other = path.join(dir, 'other.json');
    const config = JSON.parse(readFileSync(path.join(dir, 'peruse.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(other, JSON.stringify({ ...config, storage: path.join(dir, 'other-storage') }));
    const r = peruse('bans', 'ban', '198.51.100.50', '--config', other);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/the daemon on .* runs .*peruse\.json, not this config: acting directly/);
    expect(nftElements(ns, V4).has('198.51.100.50')).toBe(true);
    expect(readFileSync(path.join(dir, 'other-storage', 'bans-nft.json'), 'utf8')).toContain('198.51.100.50');
    expect(status().bans.active.nft![V4]).toBe(1); // the daemon's own store did not get it
  });

  it('status shows when the last report was sent', () => {
    const before = Date.now();
    const sent = peruse('report', '--send', '--config', path.join(dir, 'peruse.json'));
    expect(sent.code, sent.err).toBe(0);
    const at = Date.parse(status().lastReportSent ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('a reload naming a new set makes it, and status shows when the config was loaded', async () => {
    const before = Date.parse(status().config.loadedAt);
    const file = path.join(dir, 'peruse.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"inet peruse ban4"', '"inet peruse extra4"'));
    daemon.kill('SIGHUP');
    await waitFor('the reload', () => /reloaded/.test(stderr));
    expect(ns.run(['nft', 'list', 'table', 'inet', 'peruse'])).toMatch(/ip saddr @extra4 drop/);
    expect(Date.parse(status().config.loadedAt)).toBeGreaterThan(before);
  });

  it('after SIGTERM no daemon answers: status exits 3, and the socket is gone', async () => {
    daemon.kill('SIGTERM');
    await waitFor('the daemon to exit', () => daemon.exitCode !== null);
    expect(daemon.exitCode).toBe(0);
    expect(existsSync(socket)).toBe(false);
    const r = peruse('status');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no daemon is running/);
  });
});
