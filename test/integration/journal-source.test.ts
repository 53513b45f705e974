import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeByteDecoder } from '../../src/journal/fields.js';
import { NativeJournal, NativeUnsupported } from '../../src/journal/native/reader.js';
import { JournalSource } from '../../src/journal/source.js';
import { memoryLogger } from '../../src/system/log.js';

// The journalctl supervisor on its own, against real journal files, with journalctl replaced by
// scripts that misbehave the way the daemon must survive: going silent, failing at once.
const GEN = '/work/shared/corpus/gen-corpus.mjs';
const REMOTE = '/usr/lib/systemd/systemd-journal-remote';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); vi.restoreAllMocks(); });

function journalDir(entries: number): { dir: string; journal: string; cursors: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-source-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const journal = path.join(dir, 'journal');
  mkdirSync(journal);
  execFileSync('node', [GEN, '--entries', String(entries), '--seed', '31', '--format', 'export', '--out', path.join(dir, 'corpus.export')]);
  execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: readFileSync(path.join(dir, 'corpus.export')), stdio: ['pipe', 'ignore', 'ignore'] });
  const text = execFileSync('journalctl', ['--directory', journal, '--merge', '-o', 'export', '--output-fields=__CURSOR'], { maxBuffer: 1 << 28 }).toString('latin1');
  return { dir, journal, cursors: [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!) };
}

/** Appends `entries` corpus entries of a later day to the journal (journal-remote appends to remote.journal); returns every cursor now. */
function append(journal: string, dir: string, entries: number, seed: number): string[] {
  const file = path.join(dir, `more-${seed}.export`);
  execFileSync('node', [GEN, '--entries', String(entries), '--seed', String(seed), '--start', String(1767225600 + seed * 86_400), '--format', 'export', '--out', file]);
  execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: readFileSync(file), stdio: ['pipe', 'ignore', 'ignore'] });
  const text = execFileSync('journalctl', ['--directory', journal, '--merge', '-o', 'export', '--output-fields=__CURSOR'], { maxBuffer: 1 << 28 }).toString('latin1');
  return [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!);
}

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('journalctl supervision', () => {
  it('a journalctl that goes silent while newer entries exist is restarted after the last processed entry: nothing lost, nothing twice', async () => {
    const { dir, journal, cursors } = journalDir(400);
    // the first run passes 20 000 bytes then stays alive printing nothing; later runs are journalctl itself
    const wrapper = script(dir, 'stalling-journalctl', [
      `if [ ! -e "${dir}/stalled" ]; then touch "${dir}/stalled"; timeout 30 journalctl "$@" | head -c 20000; exec sleep 30; fi`,
      'exec journalctl "$@"',
    ].join('\n'));
    const log = memoryLogger();
    const seen: string[] = [];
    const source = new JournalSource({
      journal: { directory: journal, journalctl: wrapper, reader: 'journalctl' }, start: { head: true }, decode: makeByteDecoder('iso-8859-1'), log,
      onEntry: (entry) => { seen.push(entry.__CURSOR as string); }, stallSeconds: 1, backoffMs: { first: 100, max: 1000 },
    });
    cleanups.push(() => source.stop());
    await source.start();
    await waitFor('every entry', () => seen.length >= cursors.length);
    await source.stop();
    expect(seen).toEqual(cursors);
    expect(log.lines.some((l) => /printed nothing for \d+ s while newer entries exist: restarting it/.test(l))).toBe(true);
    expect(source.restarts).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a journalctl that keeps failing is restarted with a doubling delay up to the maximum, its stderr logged', async () => {
    const { dir, journal } = journalDir(10);
    const failing = script(dir, 'failing-journalctl', 'echo "Failed to open journal: boom" >&2; exit 1');
    const log = memoryLogger();
    const source = new JournalSource({
      journal: { directory: journal, journalctl: failing, reader: 'journalctl' }, start: { head: true }, decode: makeByteDecoder('iso-8859-1'), log,
      onEntry: () => {}, backoffMs: { first: 40, max: 160 },
    });
    cleanups.push(() => source.stop());
    await source.start();
    await waitFor('five restarts', () => log.lines.filter((l) => /restarting in/.test(l)).length >= 5, 10_000);
    await source.stop();
    const delays = log.lines.flatMap((l) => /journalctl exited with code 1: restarting in (\d+) ms/.exec(l)?.[1] ?? []).map(Number);
    expect(delays.slice(0, 5)).toEqual([40, 80, 160, 160, 160]);
    expect(log.lines.some((l) => l.includes('journalctl: Failed to open journal: boom'))).toBe(true);
  }, 30_000);
});

describe('journal files read in-process before journalctl follows', () => {
  function source(journal: string, onEntry: (entry: Record<string, unknown>) => void | Promise<void>, start: ConstructorParameters<typeof JournalSource>[0]['start'] = { head: true },
    wanted?: ReadonlySet<string>) {
    const log = memoryLogger();
    const s = new JournalSource({ journal: { directory: journal }, start, decode: makeByteDecoder('iso-8859-1'), log, wanted, onEntry });
    cleanups.push(() => s.stop());
    return { s, log };
  }

  it('the files are read to their end in-process, then journalctl follows after the last entry: every entry once, in journalctl\'s order', async () => {
    const { dir, journal, cursors } = journalDir(3000);
    const seen: string[] = [];
    const { s, log } = source(journal, (entry) => { seen.push(entry.__CURSOR as string); });
    await s.start();
    await waitFor('the backlog', () => seen.length >= cursors.length && s.pid !== undefined);
    expect(log.lines.some((l) => /reading 1 journal files in-process/.test(l))).toBe(true);
    expect(log.lines.some((l) => /3000 entries read in-process/.test(l))).toBe(true);
    const all = append(journal, dir, 500, 3);
    await waitFor('the appended entries', () => seen.length >= all.length);
    await s.stop();
    expect(seen).toEqual(all);
  }, 60_000);

  it('a since start takes journalctl\'s first entry, then reads in-process from there', async () => {
    const { journal, cursors } = journalDir(1000);
    const seen: string[] = [];
    const { s, log } = source(journal, (entry) => { seen.push(entry.__CURSOR as string); }, { since: '1970-01-01 00:00:00' });
    await s.start();
    await waitFor('every entry', () => seen.length >= cursors.length && s.pid !== undefined);
    await s.stop();
    expect(log.lines.some((l) => /1000 entries read in-process/.test(l))).toBe(true);
    expect(seen).toEqual(cursors);
  }, 60_000);

  it('resumes in-process right after a saved cursor', async () => {
    const { journal, cursors } = journalDir(1000);
    const seen: string[] = [];
    const { s, log } = source(journal, (entry) => { seen.push(entry.__CURSOR as string); }, { after: cursors[399]! });
    await s.start();
    await waitFor('the entries after the cursor', () => seen.length >= 600 && s.pid !== undefined);
    await s.stop();
    expect(log.lines.some((l) => /600 entries read in-process/.test(l))).toBe(true);
    expect(seen).toEqual(cursors.slice(400));
  }, 60_000);

  it('when the in-process reader gives up mid-way, journalctl takes over after the last entry it handed out: nothing lost, nothing twice', async () => {
    const { journal, cursors } = journalDir(2000);
    const real = NativeJournal.prototype.next;
    let calls = 0;
    // the reader meets something it does not read exactly as journalctl would (an LZ4 object, say) at entry 1235
    vi.spyOn(NativeJournal.prototype, 'next').mockImplementation(function (this: NativeJournal) {
      if (++calls === 1235) throw new NativeUnsupported('remote.journal: data object at 123456: XZ or LZ4 compression');
      return real.call(this);
    });
    const seen: string[] = [];
    const { s, log } = source(journal, (entry) => { seen.push(entry.__CURSOR as string); });
    await s.start();
    await waitFor('every entry', () => seen.length >= cursors.length);
    await s.stop();
    expect(seen).toEqual(cursors);
    expect(log.lines.some((l) => /in-process stopped \(.*LZ4 compression\): journalctl goes on after the last processed entry/.test(l))).toBe(true);
    expect(log.lines.some((l) => /1234 entries read in-process/.test(l))).toBe(true);
  }, 60_000);

  it('a hold pauses the in-process reader; more wanted fields on release are decoded from the next entry on, none skipped', async () => {
    const { journal, cursors } = journalDir(3000);
    const seen: Record<string, unknown>[] = [];
    let held = false;
    const wanted = new Set(['__CURSOR', '__REALTIME_TIMESTAMP', 'SYSLOG_IDENTIFIER', '_BOOT_ID']);
    const { s } = source(journal, (entry) => {
      seen.push(entry);
      if (seen.length === 1000 && !held) { held = true; s.hold(); }
    }, { head: true }, wanted);
    await s.start();
    await waitFor('the hold', () => held);
    await s.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(1000);
    s.reconfigure({ directory: journal }, (entry) => { seen.push(entry); }, new Set([...wanted, 'MESSAGE']));
    s.release();
    await waitFor('the rest', () => seen.length >= cursors.length);
    await s.stop();
    expect(seen.map((e) => e.__CURSOR)).toEqual(cursors);
    expect(seen.slice(0, 1000).some((e) => 'MESSAGE' in e)).toBe(false);
    expect(seen.slice(1000).every((e) => typeof e.MESSAGE === 'string')).toBe(true);
  }, 60_000);

  it('files that journal-remote is still writing are read in-process to what their header counted, then journalctl goes on: every entry once, in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-source-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const journal = path.join(dir, 'journal');
    mkdirSync(journal);
    const corpus = path.join(dir, 'corpus.export');
    execFileSync('node', [GEN, '--entries', '150000', '--seed', '41', '--format', 'export', '--out', corpus]);
    const writer = spawn(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const written = new Promise<void>((resolve) => writer.on('close', () => resolve()));
    createReadStream(corpus, { highWaterMark: 16 << 10 }).pipe(writer.stdin);
    await waitFor('the first entries on disk', () => existsSync(path.join(journal, 'remote.journal')));
    await new Promise((r) => setTimeout(r, 200));
    const seen: string[] = [];
    const { s, log } = source(journal, (entry) => { seen.push(entry.__CURSOR as string); });
    await s.start();
    await written;
    expect(log.lines.some((l) => /reading 1 journal files in-process/.test(l))).toBe(true);
    const text = execFileSync('journalctl', ['--directory', journal, '--merge', '-o', 'export', '--output-fields=__CURSOR'], { maxBuffer: 1 << 28 }).toString('latin1');
    const cursors = [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!);
    expect(cursors).toHaveLength(150_000);
    await waitFor('every entry', () => seen.length >= cursors.length, 60_000);
    await s.stop();
    const inProcess = Number(log.lines.map((l) => /(\d+) entries read in-process/.exec(l)?.[1]).find(Boolean));
    // the writer was still going when the reader opened the file: journalctl read the rest
    expect(inProcess).toBeGreaterThan(0);
    expect(inProcess).toBeLessThan(150_000);
    expect(seen).toEqual(cursors);
  }, 120_000);

  it('with reader "journalctl" the files are left to journalctl', async () => {
    const { journal, cursors } = journalDir(200);
    const seen: string[] = [];
    const log = memoryLogger();
    const s = new JournalSource({ journal: { directory: journal, reader: 'journalctl' }, start: { head: true }, decode: makeByteDecoder('iso-8859-1'), log, onEntry: (e) => { seen.push(e.__CURSOR as string); } });
    cleanups.push(() => s.stop());
    await s.start();
    expect(s.pid).toBeDefined();
    await waitFor('every entry', () => seen.length >= cursors.length);
    await s.stop();
    expect(seen).toEqual(cursors);
    expect(log.lines.some((l) => /in-process/.test(l))).toBe(false);
  }, 60_000);
});
