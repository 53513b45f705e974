import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// Real journal files: gen-corpus writes the export format, systemd-journal-remote turns it into
// journal files, `peruse run` follows them with journalctl like in production.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const GEN = '/work/shared/corpus/gen-corpus.mjs';
const REMOTE = '/usr/lib/systemd/systemd-journal-remote';
const DAY = 86_400;
const FIRST_DAY = 1767225600;

/** A user module: records each entry's cursor in a file (side effect) AND in a state part saved with the checkpoint. */
const RECORDER = `
import { appendFileSync } from 'node:fs';
export default { kind: 'action', name: 'action_record', summary: 'test recorder', create(args, ctx) {
  const seen = ctx.state.part('recorder', () => ({ cursors: [], snapshot() { return this.cursors; }, restore(d) { this.cursors = d; } }));
  return { act(entry) {
    seen.cursors.push(entry.__CURSOR);
    appendFileSync(args.file, entry.__CURSOR + '\\t' + entry._HOSTNAME + '\\n');
    ${'' /* a slow action now and then: the reader must pause, not pile entries up */}
    if (args.slow && seen.cursors.length % 100 === 0) return new Promise((r) => setTimeout(r, 20));
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

const cleanups: (() => void)[] = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function setup(extra: Record<string, unknown> = {}, args: Record<string, unknown> = {}): Setup {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-daemon-'));
  const s: Setup = { dir, journal: path.join(dir, 'journal'), config: path.join(dir, 'peruse.json'), out: path.join(dir, 'recorded.tsv'), storage: path.join(dir, 'storage') };
  mkdirSync(s.journal);
  mkdirSync(path.join(dir, 'modules'));
  writeFileSync(path.join(dir, 'modules', 'action_record.mjs'), RECORDER);
  writeConfig(s, extra, args);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return s;
}

function writeConfig(s: Setup, extra: Record<string, unknown> = {}, args: Record<string, unknown> = {}): void {
  writeFileSync(s.config, JSON.stringify({
    storage: s.storage, modules: 'modules', journal: { directory: s.journal },
    actions: { record: [{ action: 'action_record', args: { file: s.out, ...args } }] }, ...extra,
  }));
}

/** Appends `entries` corpus entries (4 hosts) of day `day` to the journal directory. */
function writeEntries(s: Setup, entries: number, seed: number, day: number): void {
  const file = path.join(s.dir, `batch-${seed}.export`);
  execFileSync('node', [GEN, '--entries', String(entries), '--seed', String(seed), '--start', String(FIRST_DAY + day * DAY), '--format', 'export', '--out', file]);
  execFileSync(REMOTE, ['-o', path.join(s.journal, 'remote.journal'), '-'], { input: readFileSync(file), stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Every cursor in the journal directory, as journalctl sees them (all hosts). */
function journalCursors(s: Setup): string[] {
  const text = execFileSync('journalctl', ['--directory', s.journal, '--merge', '-o', 'export', '--output-fields=__CURSOR'], { maxBuffer: 1 << 30 }).toString('latin1');
  return [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!);
}

function recorded(s: Setup): string[] {
  if (!existsSync(s.out)) return [];
  const lines = readFileSync(s.out, 'utf8').split('\n');
  // the last line may be half written while the daemon appends it: it counts once it ends
  lines.pop();
  return lines.filter(Boolean).map((l) => l.split('\t')[0]!);
}

function checkpointCursors(s: Setup): string[] {
  const checkpoint = JSON.parse(readFileSync(path.join(s.storage, 'peruse.state.json'), 'utf8')) as { state: { recorder?: string[] } };
  return checkpoint.state.recorder ?? [];
}

interface Daemon { child: ChildProcess; stderr: () => string; exited: Promise<number | null> }

function startDaemon(s: Setup): Daemon {
  const child = spawn('node', [PERUSE, 'run', '--config', s.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => { killJournalctlOf(child.pid); if (child.exitCode === null) child.kill('SIGKILL'); });
  return { child, stderr: () => stderr, exited };
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

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(d: Daemon): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  d.child.kill('SIGTERM');
  const code = await d.exited;
  return { code, ms: Date.now() - started };
}

const duplicates = (xs: string[]) => xs.length - new Set(xs).size;

describe('peruse run on real journal files', () => {
  it('waits quietly on an empty directory, then follows every host of a journal-remote journal, appended entries included, each once', async () => {
    const s = setup();
    const d = startDaemon(s);
    await new Promise((r) => setTimeout(r, 1500));
    expect(d.child.exitCode).toBeNull();
    expect(d.stderr()).not.toMatch(/warn|error/);

    writeEntries(s, 3000, 1, 0);
    await waitFor('the first batch', () => recorded(s).length >= 3000);
    writeEntries(s, 2000, 2, 1);
    const all = journalCursors(s);
    expect(all).toHaveLength(5000);
    await waitFor('the appended batch', () => recorded(s).length >= 5000);
    const { code } = await stop(d);

    expect(code).toBe(0);
    expect(recorded(s).sort()).toEqual([...all].sort());
    expect(duplicates(recorded(s))).toBe(0);
    // without --merge journalctl --follow would show one host only
    const hosts = new Set(readFileSync(s.out, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t')[1]));
    expect(hosts.size).toBeGreaterThanOrEqual(4);
  });

  it('after kill -9 mid-stream and a restart, no entry is lost and the saved state counted each entry once', async () => {
    const s = setup({}, { slow: true });
    writeEntries(s, 12_000, 3, 0);
    const all = journalCursors(s);
    // a journal present before the first start is followed from its tail: resume from a checkpoint made at its head
    const first = startDaemon(s);
    await waitFor('the tail to be pinned', () => existsSync(path.join(s.storage, 'peruse.state.json')) || /following/.test(first.stderr()));
    await stop(first);
    writeEntries(s, 12_000, 4, 1);
    const all2 = journalCursors(s).filter((c) => !all.includes(c));
    expect(all2).toHaveLength(12_000);

    const second = startDaemon(s);
    await waitFor('a checkpoint taken mid-stream', () => checkpointCursors(s).length > 0);
    const journalctl = journalctlOf(second.child.pid);
    second.child.kill('SIGKILL');
    await second.exited;
    for (const pid of journalctl) process.kill(pid, 'SIGKILL');
    const before = recorded(s).length;
    const saved = checkpointCursors(s).length;
    expect(before).toBeLessThan(12_000);

    const third = startDaemon(s);
    await waitFor('every entry', () => new Set(recorded(s)).size >= 12_000, 60_000);
    expect((await stop(third)).code).toBe(0);

    expect(new Set(recorded(s))).toEqual(new Set(all2));
    // the file recorder is a side effect: exactly what came after the last checkpoint is done again
    expect(duplicates(recorded(s))).toBe(before - saved);
    // the state saved with the cursor saw each entry exactly once
    const counted = checkpointCursors(s);
    expect(counted).toHaveLength(12_000);
    expect(duplicates(counted)).toBe(0);
  }, 120_000);

  it('restarts a killed journalctl after the last processed entry, losing and repeating nothing', async () => {
    const s = setup({}, { slow: true });
    const d = startDaemon(s);
    await waitFor('journalctl', () => journalctlOf(d.child.pid).length === 1);
    writeEntries(s, 12_000, 5, 0);
    await waitFor('some entries', () => recorded(s).length > 3000);
    for (const pid of journalctlOf(d.child.pid)) process.kill(pid, 'SIGKILL');
    await waitFor('every entry', () => recorded(s).length >= 12_000, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await stop(d)).code).toBe(0);

    expect(d.stderr()).toMatch(/journalctl killed by SIGKILL: restarting/);
    expect(recorded(s)).toHaveLength(12_000);
    expect(new Set(recorded(s))).toEqual(new Set(journalCursors(s)));
  }, 120_000);

  it('on SIGTERM saves the cursor of the last processed entry and exits 0 within 5 s', async () => {
    const s = setup();
    const d = startDaemon(s);
    await waitFor('journalctl', () => journalctlOf(d.child.pid).length === 1);
    writeEntries(s, 20_000, 6, 0);
    await waitFor('some entries', () => recorded(s).length > 2000);
    const { code, ms } = await stop(d);

    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    const saved = JSON.parse(readFileSync(path.join(s.storage, 'peruse.state.json'), 'utf8')) as { cursor: string };
    expect(saved.cursor).toBe(recorded(s).at(-1));
    expect(checkpointCursors(s)).toEqual(recorded(s));
  });

  it('on SIGHUP rejects a bad config with its errors and keeps running the old one, then takes a good one', async () => {
    const s = setup();
    const d = startDaemon(s);
    await waitFor('journalctl', () => journalctlOf(d.child.pid).length === 1);
    writeFileSync(s.config, JSON.stringify({ storage: s.storage, modules: 'modules', journal: { directory: s.journal }, actions: { x: [{ filter: 'filter_nope' }] } }));
    d.child.kill('SIGHUP');
    await waitFor('the rejection', () => /reload rejected/.test(d.stderr()));
    expect(d.stderr()).toMatch(/E_UNKNOWN_MODULE.*filter_nope/);
    writeEntries(s, 500, 7, 0);
    await waitFor('entries through the old config', () => recorded(s).length >= 500);

    const second: Setup = { ...s, out: path.join(s.dir, 'second.tsv') };
    writeConfig(second);
    d.child.kill('SIGHUP');
    await waitFor('the reload', () => /reloaded/.test(d.stderr()));
    writeEntries(s, 300, 8, 1);
    await waitFor('entries through the new config', () => recorded(second).length >= 300);
    expect((await stop(d)).code).toBe(0);
    expect(recorded(s)).toHaveLength(500);
    // the state carried over the reload: the recorder part holds both configs' entries
    expect(checkpointCursors(s)).toHaveLength(800);
  });

  it('a SIGHUP or SIGTERM that arrives while journalctl is being started is honoured once running, not fatal', async () => {
    for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
      const s = setup();
      // a journalctl that takes a second to answer keeps the daemon inside its start-up
      const slow = path.join(s.dir, 'journalctl-slow');
      writeFileSync(slow, '#!/bin/sh\nsleep 1\nexec journalctl "$@"\n', { mode: 0o755 });
      writeConfig(s, { journal: { directory: s.journal, journalctl: slow } });
      const d = startDaemon(s);
      await waitFor('the slow journalctl', () => journalctlOf(d.child.pid).length === 1);
      d.child.kill(signal);
      if (signal === 'SIGHUP') {
        await waitFor('the reload after start', () => /reloaded/.test(d.stderr()));
        writeEntries(s, 200, 11, 0);
        await waitFor('entries after the reload', () => recorded(s).length >= 200);
        expect((await stop(d)).code).toBe(0);
      } else {
        expect(await d.exited).toBe(0);
        expect(d.stderr()).toMatch(/SIGTERM: stopping/);
      }
    }
  });

  it('serves Prometheus metrics on loopback: entries, per-step hits, journal lag', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const s = setup({ metrics: { port } });
    const d = startDaemon(s);
    await waitFor('journalctl', () => journalctlOf(d.child.pid).length === 1);
    writeEntries(s, 700, 9, 0);
    await waitFor('the entries', () => recorded(s).length >= 700);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect((await stop(d)).code).toBe(0);
    expect(text).toMatch(/^peruse_entries_total 700$/m);
    expect(text).toMatch(/^peruse_step_hits_total\{chain="record",step="record\[0\]"\} 700$/m);
    expect(text).toMatch(/^peruse_journal_lag_seconds \d+/m);
  });

  it('exits 78 without starting anything on a bad config', async () => {
    const s = setup();
    writeFileSync(s.config, JSON.stringify({ storage: s.storage, journal: { directory: s.journal, bogus: 1 }, actions: {} }));
    const d = startDaemon(s);
    expect(await d.exited).toBe(78);
    expect(d.stderr()).toMatch(/journal\.bogus|bogus/);
    expect(existsSync(s.storage)).toBe(false);
  });
});
