import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// The robustness promises of docs/daemon.md, on real journal files: entries in the export format
// (gen-corpus, or hand-made for hostile ones) are turned into journal files by
// systemd-journal-remote, and `peruse run` follows them with journalctl like in production.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const GEN = '/work/shared/corpus/gen-corpus.mjs';
const REMOTE = '/usr/lib/systemd/systemd-journal-remote';
const DAY = 86_400;
const FIRST_DAY = 1767225600;

/**
 * A user module: appends one JSON line per entry (cursor, host, the entry's field names, and the
 * fields asked for); `delayMs` makes it asynchronous. It says what it reads, so the daemon decodes
 * only those fields (plus its own).
 */
const RECORDER = `
import { appendFileSync } from 'node:fs';
export default { kind: 'action', name: 'action_record', summary: 'test recorder', create(args) {
  return { reads: ['__CURSOR', '_HOSTNAME', ...(args.fields ?? [])], act(entry) {
    const line = { cursor: entry.__CURSOR, host: entry._HOSTNAME, keys: Object.keys(entry).sort().join(' ') };
    for (const f of args.fields ?? []) line[f] = entry[f];
    appendFileSync(args.file, JSON.stringify(line) + '\\n');
    if (args.delayMs) return new Promise((r) => setTimeout(r, args.delayMs));
  } };
} };
`;

interface Setup {
  dir: string;
  journal: string;
  config: string;
  out: string;
  storage: string;
}

interface Rec { cursor: string; host: string; keys: string; [field: string]: unknown }

const cleanups: (() => void)[] = [];
afterEach(() => { for (const c of cleanups.splice(0).reverse()) c(); });

function setup(config: (s: Setup) => Record<string, unknown> = (s) => recorderConfig(s)): Setup {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-robust-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const s: Setup = { dir, journal: path.join(dir, 'journal'), config: path.join(dir, 'peruse.json'), out: path.join(dir, 'recorded.jsonl'), storage: path.join(dir, 'storage') };
  mkdirSync(s.journal);
  mkdirSync(path.join(dir, 'modules'));
  writeFileSync(path.join(dir, 'modules', 'action_record.mjs'), RECORDER);
  writeFileSync(s.config, JSON.stringify(config(s)));
  return s;
}

function recorderConfig(s: Setup, args: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    storage: s.storage, modules: 'modules', journal: { directory: s.journal },
    actions: { record: [{ action: 'action_record', args: { file: s.out, ...args } }] }, ...extra,
  };
}

/** Writes export-format bytes into a journal file of the directory (appending when it exists). */
function writeExport(s: Setup, bytes: Buffer, file = 'remote.journal'): void {
  execFileSync(REMOTE, ['-o', path.join(s.journal, file), '-'], { input: bytes, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Appends `entries` corpus entries (4 hosts) of day `day`. */
function writeEntries(s: Setup, entries: number, seed: number, day: number, file = 'remote.journal'): void {
  const out = path.join(s.dir, `batch-${seed}.export`);
  execFileSync('node', [GEN, '--entries', String(entries), '--seed', String(seed), '--start', String(FIRST_DAY + day * DAY), '--format', 'export', '--out', out]);
  writeExport(s, readFileSync(out), file);
}

/** One entry in the export format: a value with a newline or any non-UTF-8 byte is written as a binary field. */
function exportEntry(fields: [string, string | Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const text = typeof value === 'string' && !value.includes('\n');
    if (text) parts.push(Buffer.from(`${name}=${value}\n`, 'utf8'));
    else {
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(bytes.length));
      parts.push(Buffer.from(`${name}\n`), size, bytes, Buffer.from('\n'));
    }
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

const BOOT = 'c0ffee00c0ffee00c0ffee00c0ffee00';
/** Hand-made entries of host "robust", one millisecond apart from `startSeconds`. */
function handEntries(startSeconds: number, messages: (string | Buffer)[], extra: (i: number) => [string, string | Buffer][] = () => []): Buffer {
  return Buffer.concat(messages.map((message, i) => {
    const realtime = BigInt(startSeconds) * 1_000_000n + BigInt(i) * 1000n;
    return exportEntry([
      ['__REALTIME_TIMESTAMP', String(realtime)], ['__MONOTONIC_TIMESTAMP', String(realtime - 1_700_000_000_000_000n)],
      ['_BOOT_ID', BOOT], ['_HOSTNAME', 'robust'], ['SYSLOG_IDENTIFIER', 'sshd'], ['PRIORITY', '5'],
      ['MESSAGE', message], ...extra(i),
    ]);
  }));
}

/** Every cursor in the journal directory (or of the given files), in journalctl's merged order. */
function journalCursors(where: { directory?: string; files?: string[] }): string[] {
  const args = where.directory !== undefined ? ['--directory', where.directory] : (where.files ?? []).map((f) => `--file=${f}`);
  const text = execFileSync('journalctl', [...args, '--merge', '-o', 'export', '--output-fields=__CURSOR'], { maxBuffer: 1 << 30 }).toString('latin1');
  return [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!);
}

function records(s: Setup): Rec[] {
  if (!existsSync(s.out)) return [];
  const lines = readFileSync(s.out, 'utf8').split('\n');
  // the last line may be half written while the daemon appends it: it counts once it ends
  lines.pop();
  return lines.filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

const recorded = (s: Setup): string[] => records(s).map((r) => r.cursor);

function savedCursor(s: Setup): string | undefined {
  const file = path.join(s.storage, 'peruse.state.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { cursor?: string }).cursor;
}

interface Daemon { child: ChildProcess; pid: number; stderr: () => string; exited: Promise<number | null> }

function startDaemon(s: Setup): Daemon {
  const child = spawn('node', [PERUSE, 'run', '--config', s.config], { cwd: s.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => { killJournalctlOf(child.pid); if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { child, pid: child.pid!, stderr: () => stderr, exited };
}

/** The journalctl children of a process (they would outlive a daemon killed with -9 until their next write). */
function journalctlOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)]).toString().split('\n')
      .filter((l) => l.includes('journalctl')).map((l) => Number(l.trim().split(/\s+/)[0]));
  } catch {
    return [];
  }
}

function killJournalctlOf(pid: number | undefined): void {
  for (const child of journalctlOf(pid)) {
    try { process.kill(child, 'SIGKILL'); } catch { /* already gone */ }
  }
}

/** The following journalctl of the daemon (its args show where it started). */
function followingArgs(pid: number): string | undefined {
  for (const child of journalctlOf(pid)) {
    try {
      const args = readFileSync(`/proc/${child}/cmdline`, 'latin1').split('\0');
      if (args.includes('--follow')) return args.join(' ');
    } catch { /* gone meanwhile */ }
  }
  return undefined;
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function stop(d: Daemon): Promise<number | null> {
  d.child.kill('SIGTERM');
  return d.exited;
}

const duplicates = (xs: string[]) => xs.length - new Set(xs).size;

/** A checkpoint whose cursor journalctl refuses ("Failed to seek to cursor: Invalid argument"). */
async function checkpointWithBogusCursor(s: Setup): Promise<void> {
  writeEntries(s, 200, 11, 0);
  const first = startDaemon(s);
  await waitFor('the pinned tail to be saved', () => savedCursor(s) !== undefined);
  expect(await stop(first)).toBe(0);
  const file = path.join(s.storage, 'peruse.state.json');
  const checkpoint = JSON.parse(readFileSync(file, 'utf8')) as { cursor: string };
  checkpoint.cursor = 'not-a-cursor';
  writeFileSync(file, JSON.stringify(checkpoint));
}

describe('peruse run when the journal misbehaves', () => {
  it('reports a cursor journalctl refuses, restarts at the tail and processes every entry appended afterwards once', async () => {
    const s = setup();
    await checkpointWithBogusCursor(s);
    const before = new Set(journalCursors({ directory: s.journal }));

    const d = startDaemon(s);
    await waitFor('the refusal', () => /rejected the saved cursor \(not-a-cursor\): starting at the tail/.test(d.stderr()));
    await waitFor('journalctl following again', () => followingArgs(d.pid) !== undefined);
    writeEntries(s, 300, 12, 1);
    const appended = journalCursors({ directory: s.journal }).filter((c) => !before.has(c));
    expect(appended).toHaveLength(300);
    await waitFor('the appended entries', () => recorded(s).length >= 300);
    await sleep(500);

    expect(d.child.exitCode).toBeNull();
    expect(recorded(s)).toEqual(appended); // nothing from before the tail, nothing twice, in order
    expect(await stop(d)).toBe(0);
    expect(savedCursor(s)).toBe(appended.at(-1));
  });

  it('after a refused cursor, a journalctl restart before the first new entry still loses nothing', async () => {
    const s = setup();
    await checkpointWithBogusCursor(s);
    const before = new Set(journalCursors({ directory: s.journal }));

    const d = startDaemon(s);
    await waitFor('the refusal', () => /rejected the saved cursor/.test(d.stderr()));
    await waitFor('journalctl following again', () => followingArgs(d.pid) !== undefined);
    killJournalctlOf(d.pid); // restarted after a 1 s backoff: entries written meanwhile must not be skipped
    writeEntries(s, 100, 13, 1);
    const appended = journalCursors({ directory: s.journal }).filter((c) => !before.has(c));
    await waitFor('the entries written while journalctl was down', () => recorded(s).length >= 100, 15_000);
    await sleep(500);
    expect(await stop(d)).toBe(0);
    expect(recorded(s)).toEqual(appended);
  });

  it('after a refused cursor, the tail it restarted at is saved: a restart of peruse before the first new entry loses nothing', async () => {
    const s = setup();
    await checkpointWithBogusCursor(s);
    const before = new Set(journalCursors({ directory: s.journal }));

    const first = startDaemon(s);
    await waitFor('the refusal', () => /rejected the saved cursor/.test(first.stderr()));
    await waitFor('journalctl following again', () => followingArgs(first.pid) !== undefined);
    await sleep(1500); // a checkpoint save period
    expect(await stop(first)).toBe(0);
    expect(savedCursor(s)).not.toBe('not-a-cursor');

    writeEntries(s, 100, 14, 1); // while peruse is down
    const appended = journalCursors({ directory: s.journal }).filter((c) => !before.has(c));
    const second = startDaemon(s);
    await waitFor('the entries written while peruse was down', () => recorded(s).length >= 100, 15_000);
    await sleep(500);
    expect(await stop(second)).toBe(0);
    expect(second.stderr()).not.toMatch(/rejected the saved cursor/);
    expect(recorded(s)).toEqual(appended);
  });

  it('processes once each entry of a second journal file added to the directory while it runs', async () => {
    const s = setup();
    const d = startDaemon(s);
    await waitFor('journalctl', () => followingArgs(d.pid) !== undefined);
    writeEntries(s, 500, 21, 0);
    const first = journalCursors({ directory: s.journal });
    await waitFor('the first file', () => recorded(s).length >= 500);

    writeEntries(s, 400, 22, 1, 'remote-2.journal');
    const second = journalCursors({ files: [path.join(s.journal, 'remote-2.journal')] });
    expect(second).toHaveLength(400);
    await waitFor('the second file', () => recorded(s).length >= 900);
    writeEntries(s, 100, 23, 2); // the first file keeps growing too
    await waitFor('the first file again', () => recorded(s).length >= 1000);
    await sleep(500);
    expect(await stop(d)).toBe(0);

    const seen = recorded(s);
    expect(seen).toHaveLength(1000);
    expect(duplicates(seen)).toBe(0);
    expect(new Set(seen)).toEqual(new Set(journalCursors({ directory: s.journal })));
    expect(seen.slice(0, 500)).toEqual(first);
    expect(seen.slice(500, 900)).toEqual(second);
  });

  it('processes once each entry of a new journal file written after the old one was moved away, across a restart too', async () => {
    const s = setup();
    const d = startDaemon(s);
    await waitFor('journalctl', () => followingArgs(d.pid) !== undefined);
    writeEntries(s, 500, 31, 0);
    const old = journalCursors({ directory: s.journal });
    await waitFor('the old file', () => recorded(s).length >= 500);

    renameSync(path.join(s.journal, 'remote.journal'), path.join(s.dir, 'archived.journal'));
    writeEntries(s, 400, 32, 1); // a new remote.journal
    const fresh = journalCursors({ directory: s.journal });
    expect(fresh).toHaveLength(400);
    await waitFor('the new file', () => recorded(s).length >= 900);
    await sleep(500);
    expect(await stop(d)).toBe(0);
    expect(recorded(s)).toEqual([...old, ...fresh]);

    // the checkpoint now points into the new file: a restart resumes right after it
    writeEntries(s, 100, 33, 2);
    const later = journalCursors({ directory: s.journal }).slice(400);
    const again = startDaemon(s);
    await waitFor('the entries written while peruse was down', () => recorded(s).length >= 1000);
    await sleep(500);
    expect(await stop(again)).toBe(0);
    expect(again.stderr()).not.toMatch(/rejected the saved cursor/);
    expect(recorded(s)).toEqual([...old, ...fresh, ...later]);
  });

  it('pauses journalctl while a slow action runs: 2000 entries of 100 KiB drain in order, once each, with RSS bounded', async () => {
    const s = setup((x) => recorderConfig(x, { delayMs: 50 }));
    const d = startDaemon(s);
    await waitFor('journalctl', () => followingArgs(d.pid) !== undefined);
    await sleep(500);
    const idleKiB = rssKiB(d.pid);

    // 2000 × 100 KiB = 200 MiB of export output (a shared, compressed blob on disk): if the pipe were
    // not paused, journalctl would push it all into peruse within seconds
    const pad = Buffer.alloc(100 * 1024, 'x').toString();
    writeExport(s, handEntries(FIRST_DAY, Array.from({ length: 2000 }, (_, i) => `slow entry ${i}`), () => [['PAD', pad]]));
    const all = journalCursors({ directory: s.journal });
    expect(all).toHaveLength(2000);

    let peakKiB = 0;
    let samples = 0;
    while (recorded(s).length < 2000) {
      expect(d.child.exitCode).toBeNull();
      peakKiB = Math.max(peakKiB, rssKiB(d.pid));
      samples++;
      await sleep(250);
    }
    await sleep(500);
    expect(await stop(d)).toBe(0);

    expect(samples).toBeGreaterThan(100); // it really drained slowly (50 ms × 2000)
    expect(peakKiB - idleKiB).toBeLessThan(64 * 1024);
    expect(peakKiB).toBeLessThan(160 * 1024);
    const seen = records(s);
    expect(seen.map((r) => r.cursor)).toEqual(all);
  }, 180_000);

  it('keeps running through hostile entries (multi-line nft syntax, binary fields, non-UTF-8) and bans only the real address after them', async () => {
    const nftLog = 'nft.log';
    const s = setup((x) => ({
      ...recorderConfig(x),
      actions: {
        SSH: [
          { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for [^ ]+ from (?P<thatIP>[\\s\\S]+?) port [0-9]+ ssh2$' }, else: 'other' },
          { action: 'action_record', args: { file: x.out, fields: ['MESSAGE', 'BLOB', 'thatIP'] } },
          { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 600, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
        ],
        other: [{ action: 'action_record', args: { file: x.out, fields: ['MESSAGE', 'BLOB', 'thatIP'] } }],
      },
      // a fake nft: records its arguments and its stdin, changes nothing
      nftBan: { nft: ['/bin/sh', '-c', `printf 'ARGS %s\\n' "$*" >>${path.join(x.dir, nftLog)}; cat >>${path.join(x.dir, nftLog)}`, 'sh'] },
      // only the bans' commands are recorded here, not the set-up of sets and rules
      firewall: { manage: false },
    }));
    const d = startDaemon(s);
    await waitFor('journalctl', () => followingArgs(d.pid) !== undefined);

    const latin1 = Buffer.from('Failed password for caf\xe9 from 1.2.3.4\xff port 22 ssh2', 'latin1');
    const messages: (string | Buffer)[] = [
      'Failed password for root from 1.2.3.4\nadd table ip evil port 22 ssh2',
      'Failed password for root from 1.2.3.4}; flush ruleset; add element ip Inet4 ssh_ban {6.6.6.6 port 22 ssh2',
      latin1,
      Buffer.from([0x00, 0x01, 0x0a, 0x00, 0xfe, 0xff]),
      'Failed password for root from 203.0.113.9 port 22 ssh2',
    ];
    const now = Math.floor(Date.now() / 1000);
    writeExport(s, handEntries(now, messages, (i) => (i === 3 ? [['BLOB', Buffer.from([0, 0x0a, 0, 0x0a, 0x0a, 0xc3])]] : [])));
    const all = journalCursors({ directory: s.journal });
    expect(all).toHaveLength(5);
    await waitFor('every entry', () => recorded(s).length >= 5);
    await waitFor('the ban', () => existsSync(path.join(s.dir, nftLog)) && readFileSync(path.join(s.dir, nftLog), 'utf8').includes('203.0.113.9'));
    await sleep(500);

    // still alive and following: one more ordinary entry goes through
    writeExport(s, handEntries(now + 1, ['after the storm']));
    await waitFor('the entry after the hostile ones', () => recorded(s).length >= 6);
    expect(d.child.exitCode).toBeNull();
    expect(await stop(d)).toBe(0);

    const seen = records(s);
    expect(seen.map((r) => r.cursor)).toEqual(journalCursors({ directory: s.journal }));
    expect(seen[0]!.MESSAGE).toBe('Failed password for root from 1.2.3.4\nadd table ip evil port 22 ssh2');
    expect(seen[2]!.MESSAGE).toBe(latin1.toString('latin1')); // 8-bit fields decoded byte-exact (iso-8859-1)
    expect(seen[3]!.MESSAGE).toBe(Buffer.from([0x00, 0x01, 0x0a, 0x00, 0xfe, 0xff]).toString('latin1'));
    expect(seen[3]!.BLOB).toBe(Buffer.from([0, 0x0a, 0, 0x0a, 0x0a, 0xc3]).toString('latin1'));
    expect(seen[4]!.thatIP).toBe('203.0.113.9');
    expect(seen[5]!.MESSAGE).toBe('after the storm');
    const nft = readFileSync(path.join(s.dir, nftLog), 'utf8');
    expect(nft).toContain('203.0.113.9');
    expect(nft).not.toMatch(/evil|flush|6\.6\.6\.6|1\.2\.3\.4/);
    expect(d.stderr()).not.toMatch(/corrupt entry|journalctl exited/);
  });

  it('decodes only the fields the steps read, and a reload that reads one more restarts journalctl without losing or repeating an entry', async () => {
    const s = setup();
    const d = startDaemon(s);
    await waitFor('journalctl', () => followingArgs(d.pid) !== undefined);
    writeEntries(s, 300, 21, 0);
    await waitFor('the first entries', () => recorded(s).length >= 300);
    // the recorder reads __CURSOR and _HOSTNAME; peruse itself reads the time, identifier, boot id and
    // PID (its own diagnostics are skipped); kernel lines have no _PID
    const keySets = new Set(records(s).map((r) => r.keys));
    expect(keySets).toContain('SYSLOG_IDENTIFIER _BOOT_ID _HOSTNAME _PID __CURSOR __REALTIME_TIMESTAMP');
    for (const keys of keySets) expect(['SYSLOG_IDENTIFIER _BOOT_ID _HOSTNAME _PID __CURSOR __REALTIME_TIMESTAMP', 'SYSLOG_IDENTIFIER _BOOT_ID _HOSTNAME __CURSOR __REALTIME_TIMESTAMP']).toContain(keys);

    writeFileSync(s.config, JSON.stringify(recorderConfig(s, { fields: ['MESSAGE'] })));
    d.child.kill('SIGHUP');
    await waitFor('the reload', () => /reloaded/.test(d.stderr()));
    expect(d.stderr()).toMatch(/reads more fields: restarting journalctl/);
    writeEntries(s, 300, 22, 1);
    await waitFor('the entries after the reload', () => recorded(s).length >= 600);
    await sleep(500);
    expect(await stop(d)).toBe(0);

    const seen = records(s);
    expect(seen.map((r) => r.cursor)).toEqual(journalCursors({ directory: s.journal }));
    expect(seen.slice(300).every((r) => typeof r.MESSAGE === 'string' && r.keys.includes('MESSAGE'))).toBe(true);
  }, 60_000);
});
