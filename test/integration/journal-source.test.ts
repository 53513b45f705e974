import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeByteDecoder } from '../../src/journal/fields.js';
import { JournalSource } from '../../src/journal/source.js';
import { memoryLogger } from '../../src/system/log.js';

// The journalctl supervisor on its own, against real journal files, with journalctl replaced by
// scripts that misbehave the way the daemon must survive: going silent, failing at once.
const GEN = '/work/shared/corpus/gen-corpus.mjs';
const REMOTE = '/usr/lib/systemd/systemd-journal-remote';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

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
