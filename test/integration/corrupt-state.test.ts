import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PERUSE_BIN as PERUSE } from '../helpers/cli.js';
import { ExportText, REMOTE } from '../helpers/journal-fixtures.js';
import { endAfterAll, sleep } from '../helpers/processes.js';
import { nftElements, type NetNs } from './netns.js';

// Damaged state files under the real CLI (`node bin/peruse.js`): real journal files, real nft in a
// namespace. Nothing here may stop the daemon, block, lose a ban or print a stack trace.
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';
const SET = 'ip Inet4 ssh_ban';
const STACK = /^\s+at /m;

let ns: NetNs;
const { netns, startDaemon, tempDir } = endAfterAll();
beforeAll(() => { ns = netns('corrupt'); });

interface Setup { dir: string; journal: string; storage: string; config: string }

/** A config banning at the first SSH failure, with real nft in the namespace (its sets emptied). */
function setup(): Setup {
  const dir = tempDir('peruse-corrupt-');
  const s = { dir, journal: path.join(dir, 'journal'), storage: path.join(dir, 'storage'), config: path.join(dir, 'peruse.json') };
  mkdirSync(s.journal);
  mkdirSync(s.storage);
  writeFileSync(s.config, JSON.stringify({
    storage: s.storage,
    journal: { directory: s.journal },
    nftBan: { nft: [...ns.prefix, 'nft'] },
    actions: {
      SSH: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for [^ ]+ from (?P<thatIP>[^ ]+) port' } },
        { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: SET, nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
      ],
    },
  }));
  spawnSync(ns.prefix[0], [...ns.prefix.slice(1), 'nft', 'delete', 'table', 'ip', 'Inet4']);
  spawnSync(ns.prefix[0], [...ns.prefix.slice(1), 'nft', 'delete', 'table', 'ip6', 'Inet6']);
  ns.run(['nft', '-f', '-'], TABLES);
  return s;
}

let seq = 0;
/** SSH failures of `ips`, now, appended to the real journal file. */
function writeFailures(s: Setup, ips: string[]): void {
  const text = new ExportText();
  const now = Date.now() * 1000;
  for (const ip of ips) {
    seq++;
    text.entry([
      ['__REALTIME_TIMESTAMP', now + seq], ['__MONOTONIC_TIMESTAMP', 1_000_000 + seq * 1000],
      ['_BOOT_ID', 'c0ffee00c0ffee00c0ffee00c0ffee00'], ['_HOSTNAME', 'corrupt'], ['SYSLOG_IDENTIFIER', 'sshd'],
      ['MESSAGE', `Failed password for root from ${ip} port 22 ssh2`],
    ]);
  }
  execFileSync(REMOTE, ['-o', path.join(s.journal, 'remote.journal'), '-'], { input: text.toBuffer(), stdio: ['pipe', 'ignore', 'ignore'] });
}

/** A store file of peruse holding `ips`, banned for another hour. */
function storeText(ips: string[]): string {
  const until = Math.floor(Date.now() / 1000) + 3600;
  return JSON.stringify({ version: 1, bans: ips.map((ip) => ({ set: SET, ip, until, reason: 'SSH[2]' })) }) + '\n';
}

const storeFile = (s: Setup) => path.join(s.storage, 'bans-nft.json');
const storedIps = (s: Setup) => (JSON.parse(readFileSync(storeFile(s), 'utf8')) as { bans: { ip: string }[] }).bans.map((b) => b.ip).sort();
const banned = () => [...nftElements(ns, SET).keys()].sort();
const asideOf = (s: Setup, name: string) => readdirSync(s.storage).filter((f) => f.startsWith(`${name}.corrupt-`));

function cli(s: Setup, args: string[]) {
  const result = spawnSync('node', [PERUSE, ...args, '--config', s.config], { cwd: s.dir, encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('a damaged checkpoint (peruse.state.json) does not stop peruse run', () => {
  const damages: [string, string][] = [
    ['empty', ''],
    ['truncated', '{"version":1,"cursor":"s=abc;i=1","eventTime":17672256000000'],
    ['garbage', '\u0000\u0007\u00ff not json at all'],
    ['of the wrong shape', '{"version":1,"cursor":42,"state":[]}'],
  ];
  it.each(damages)('when it is %s: moved aside, said loudly, bans restored, and the journal followed from its tail', async (_kind, content) => {
    const s = setup();
    writeFailures(s, ['198.51.100.1']); // before the tail: not for this start
    writeFileSync(path.join(s.storage, 'peruse.state.json'), content);
    writeFileSync(storeFile(s), storeText(['192.0.2.10', '192.0.2.11']));

    const d = startDaemon(s.config, s.dir);
    await waitFor('the daemon to follow the journal', () => /following the journal/.test(d.stderr()));
    expect(d.stderr()).toMatch(/CHECKPOINT DAMAGED: .*peruse\.state\.json is unusable/);
    const aside = asideOf(s, 'peruse.state.json');
    expect(aside).toHaveLength(1);
    expect(readFileSync(path.join(s.storage, aside[0]!), 'utf8')).toBe(content);
    expect(banned()).toEqual(['192.0.2.10', '192.0.2.11']);

    writeFailures(s, ['203.0.113.50']);
    await waitFor('the new ban', () => banned().includes('203.0.113.50'));
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stderr()).not.toMatch(STACK);
    expect(banned()).toEqual(['192.0.2.10', '192.0.2.11', '203.0.113.50']);
    // a fresh checkpoint was written in its place
    const checkpoint = JSON.parse(readFileSync(path.join(s.storage, 'peruse.state.json'), 'utf8')) as { version: number; cursor: string };
    expect(checkpoint.version).toBe(1);
    expect(typeof checkpoint.cursor).toBe('string');
  }, 60_000);
});

describe('a damaged checkpoint with a good previous one', () => {
  it('resumes from the previous checkpoint: the entries written while peruse was down are still processed', async () => {
    const s = setup();
    const first = startDaemon(s.config, s.dir);
    await waitFor('the daemon to follow the journal', () => /following the journal/.test(first.stderr()));
    writeFailures(s, ['203.0.113.60']);
    await waitFor('the first ban', () => banned().includes('203.0.113.60'));
    await sleep(1500); // a periodic save, then the one at stop: the first becomes the previous checkpoint
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(s.storage, 'peruse.state.prev.json'))).toBe(true);

    writeFailures(s, ['203.0.113.61']); // while peruse is down
    const current = path.join(s.storage, 'peruse.state.json');
    writeFileSync(current, readFileSync(current, 'utf8').slice(0, 40)); // a crash mid-write
    const second = startDaemon(s.config, s.dir);
    await waitFor('the entry written while peruse was down', () => banned().includes('203.0.113.61'));
    expect(second.stderr()).toMatch(/CHECKPOINT DAMAGED: .*Resuming from the previous checkpoint, saved /);
    expect(asideOf(s, 'peruse.state.json')).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(banned()).toEqual(['203.0.113.60', '203.0.113.61']);
  }, 60_000);
});

describe('a damaged ban store (bans-nft.json) is never overwritten', () => {
  const ips = Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`);
  const truncated = () => { const t = storeText(ips); return t.slice(0, t.indexOf('"192.0.2.31"') + 5); };

  it('bans restore keeps a truncated store aside, applies every complete record, says so and exits non-zero', () => {
    const s = setup();
    const damaged = truncated();
    writeFileSync(storeFile(s), damaged);
    const r = cli(s, ['bans', 'restore']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bans-nft\.json was damaged .*the original is kept as .*bans-nft\.json\.corrupt-.*, 30 bans recovered from it/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).not.toMatch(/no ban to restore/);
    expect(banned()).toEqual(ips.slice(0, 30).sort());
    const aside = asideOf(s, 'bans-nft.json');
    expect(aside).toHaveLength(1);
    expect(readFileSync(path.join(s.storage, aside[0]!), 'utf8')).toBe(damaged);
    expect(storedIps(s)).toEqual(ips.slice(0, 30).sort());
  });

  it('bans list shows what a truncated store still holds, says it is damaged, exits non-zero and changes no file', () => {
    const s = setup();
    const damaged = truncated();
    writeFileSync(storeFile(s), damaged);
    const r = cli(s, ['bans', 'list', '--json']);
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { ip: string }[]).map((b) => b.ip).sort()).toEqual(ips.slice(0, 30).sort());
    expect(r.stderr).toMatch(/bans-nft\.json was damaged .*30 bans recovered/);
    expect(readFileSync(storeFile(s), 'utf8')).toBe(damaged);
  });

  it('the next ban after a store of the wrong shape or truncated adds to what was recovered instead of rewriting it down to one', () => {
    const s = setup();
    writeFileSync(storeFile(s), truncated());
    const input = path.join(s.dir, 'entries.jsonl');
    writeFileSync(input, JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.now() * 1000), __CURSOR: 'c1', MESSAGE: 'Failed password for root from 203.0.113.77 port 22 ssh2' }) + '\n');
    const r = cli(s, ['replay', '--input', input]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/BAN STORE DAMAGED/);
    expect(storedIps(s)).toEqual([...ips.slice(0, 30), '203.0.113.77'].sort());

    writeFileSync(storeFile(s), '{"version":1,"bans":"oops"}');
    const again = cli(s, ['replay', '--input', input]);
    expect(again.status).toBe(0);
    expect(asideOf(s, 'bans-nft.json')).toHaveLength(2);
    expect(storedIps(s)).toEqual(['203.0.113.77']);
    expect(readFileSync(path.join(s.storage, asideOf(s, 'bans-nft.json').sort()[1]!), 'utf8')).toBe('{"version":1,"bans":"oops"}');
  });
});

describe('anything but a regular file where a state file should be is refused, never blocks', () => {
  it('a FIFO as the checkpoint: peruse run refuses it with a message at once', async () => {
    const s = setup();
    execFileSync('mkfifo', [path.join(s.storage, 'peruse.state.json')]);
    const d = startDaemon(s.config, s.dir);
    const code = await Promise.race([d.exited, sleep(10_000).then(() => 'blocked')]);
    expect(code).toBe(1);
    expect(d.stderr()).toMatch(/peruse\.state\.json \(the checkpoint\) is a FIFO, not a regular file: refusing to use it/);
    expect(d.stderr()).not.toMatch(STACK);
  });

  it('a FIFO as the ban store: bans list and bans restore refuse it with a message at once', () => {
    const s = setup();
    execFileSync('mkfifo', [storeFile(s)]);
    for (const args of [['bans', 'list'], ['bans', 'restore']]) {
      const r = cli(s, args);
      expect(r.signal, `${args.join(' ')} blocked`).toBeNull();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/bans-nft\.json \(the nft ban store\) is a FIFO, not a regular file: refusing to use it/);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('a directory as peruse.report.jsonl: report --preview and --send give a clear error, no stack trace', () => {
    const s = setup();
    mkdirSync(path.join(s.storage, 'peruse.report.jsonl'));
    for (const args of [['report', '--preview'], ['report', '--send']]) {
      const r = cli(s, args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/peruse\.report\.jsonl \(the daily report being collected\) is a directory, not a regular file/);
      expect(r.stderr).not.toMatch(STACK);
    }
    expect(existsSync(path.join(s.storage, 'peruse.report.jsonl'))).toBe(true);
  });
});
