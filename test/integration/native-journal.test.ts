import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { journalFilesOf, NativeJournal, NativeUnsupported } from '../../src/journal/native/reader.js';
import type { Entry } from '../../src/modules/api.js';
import {
  buildContradictoryWriters, buildGarbage, buildHostile, buildRotatedCorpus, buildTwoWriters, ExportText, GEN_CORPUS, journalctlEntries, latin1,
  LONG_MESSAGE, makeTempRoot, parseExport, scanJournalFile, writeJournal, type JournalFixture,
} from '../helpers/journal-fixtures.js';

// Differential test: the native reader of journal files must yield, entry for entry, what the journalctl
// path yields (ExportParser over `journalctl --output=export --merge --no-pager --directory=DIR`): same
// entries, same order, same keys in the same order, same values, cursors and timestamps included.

const WANTED: ReadonlySet<string> = new Set(['__CURSOR', '__REALTIME_TIMESTAMP', 'SYSLOG_IDENTIFIER', '_BOOT_ID', 'MESSAGE', '_HOSTNAME', '_PID']);
const WANTED_SETS: [string, ReadonlySet<string> | undefined][] = [['all fields', undefined], ['wanted fields', WANTED]];

const roots: string[] = [];
afterEach(() => { for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true }); });

function tempRoot(): string {
  const root = makeTempRoot('peruse-native-');
  roots.push(root);
  return root;
}

/**
 * `reversed`: the files in the reverse of journalFilesOf's (directory) order. journalctl's order of a single writer's
 * entries is their seqnum whatever the order it enumerated the files in, so the result must not depend on it; with
 * several writers the order breaks ties and only the directory order is journalctl's.
 */
function openNative(dir: string, wanted: ReadonlySet<string> | undefined, reversed = false): NativeJournal {
  const files = journalFilesOf({ directory: dir });
  return NativeJournal.open(reversed ? files.reverse() : files, { decode: latin1, wanted });
}

/** The file orders to try: both for one writer's files (see openNative), the directory order only otherwise. */
const ordersOf = (fixture: JournalFixture): boolean[] => (fixture.singleWriter ? [false, true] : [false]);
const orderName = (reversed: boolean) => (reversed ? 'files in reverse directory order' : 'files in directory order');

function drain(journal: NativeJournal): Entry[] {
  const entries: Entry[] = [];
  for (let entry = journal.next(); entry !== undefined; entry = journal.next()) entries.push(entry);
  return entries;
}

/** Every entry from the head, natively. */
function nativeEntries(dir: string, wanted: ReadonlySet<string> | undefined, reversed = false): Entry[] {
  const journal = openNative(dir, wanted, reversed);
  try {
    journal.seekHead();
    return drain(journal);
  } finally {
    journal.close();
  }
}

function show(entry: Entry | undefined): string {
  if (entry === undefined) return '(none)';
  return `{ ${Object.entries(entry).map(([name, value]) => {
    const text = JSON.stringify(value);
    return `${name}: ${text.length > 160 ? `${text.slice(0, 160)}…(${String(value).length} chars)` : text}`;
  }).join(', ')} }`;
}

function sameEntry(a: Entry, b: Entry): boolean {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key, i) => key === keysB[i] && Object.is(a[key], b[key]));
}

/** Deep equality, key order included; on failure, names the first differing index and shows both entries. */
function expectSameEntries(native: Entry[], journalctl: Entry[], what: string): void {
  const shared = Math.min(native.length, journalctl.length);
  let first = 0;
  while (first < shared && sameEntry(native[first]!, journalctl[first]!)) first++;
  if (first === shared && native.length === journalctl.length) return;
  throw new Error(`${what}: native ${native.length} entries, journalctl ${journalctl.length}; first difference at index ${first}\n`
    + `  native:     ${show(native[first])}\n  journalctl: ${show(journalctl[first])}`);
}

/** Reads from the head with and without a wanted set and compares with journalctl. */
function expectSameAsJournalctl(fixture: JournalFixture): void {
  for (const [label, wanted] of WANTED_SETS) {
    const expected = journalctlEntries(fixture.dir, wanted);
    expect(expected.length).toBe(fixture.entries);
    for (const reversed of ordersOf(fixture)) {
      expectSameEntries(nativeEntries(fixture.dir, wanted, reversed), expected, `${path.basename(fixture.dir)}, ${label}, ${orderName(reversed)}`);
    }
  }
}

/**
 * For each cursor (and file order, see ordersOf): seekAfterCursor, then every following entry; when the seek
 * succeeds they must be what `journalctl --after-cursor` yields. Returns how many seeks succeeded.
 */
function expectSameAfterCursors(fixture: JournalFixture, cursors: string[], wanted: ReadonlySet<string> | undefined): number {
  let seeked = 0;
  for (const cursor of cursors) {
    const expected = journalctlEntries(fixture.dir, wanted, [`--after-cursor=${cursor}`]);
    for (const reversed of ordersOf(fixture)) {
      const journal = openNative(fixture.dir, wanted, reversed);
      try {
        const exact = journal.seekAfterCursor(cursor);
        if (fixture.singleWriter) expect(exact, `seekAfterCursor(${cursor}) on one writer's files`).toBe(true);
        if (!exact) continue;
        seeked++;
        expectSameEntries(drain(journal), expected, `${path.basename(fixture.dir)} after cursor ${cursor}, ${orderName(reversed)}`);
      } finally {
        journal.close();
      }
    }
  }
  return seeked;
}

/** The cursors of the first, the middle and the last entry journalctl shows, and those of the entries `pick` selects. */
function cursorsOf(fixture: JournalFixture, pick: (entry: Entry) => boolean = () => false): string[] {
  const entries = journalctlEntries(fixture.dir, new Set(['__CURSOR', 'MESSAGE']));
  const chosen = [entries[0]!, entries[entries.length >> 1]!, entries[entries.length - 1]!, ...entries.filter(pick)];
  return [...new Set(chosen.map((e) => String(e.__CURSOR)))];
}

const sortedFiles = (dir: string) => journalFilesOf({ directory: dir }).sort();

describe('native journal reader, compared with journalctl --merge on real journal files', () => {
  it('when one writer rotated its journal into archives (one named *.journal~), the reader yields every corpus entry as journalctl does, with all fields and with a wanted set', () => {
    const fixture = buildRotatedCorpus(tempRoot());
    expect(sortedFiles(fixture.dir)).toEqual([...fixture.files].sort());
    expectSameAsJournalctl(fixture);
  });

  it('when journal-remote wrote an entry again in the new file after its write failed at rotation, the reader gives both copies, in order, as journalctl does', () => {
    const fixture = buildRotatedCorpus(tempRoot());
    const rewritten = fixture.facts.rewrittenCursors as string[];
    // same writer, consecutive seqnums, same boot, timestamps and fields: not duplicates for journalctl (the seqnums differ)
    const pick = (entries: Entry[]) => entries.filter((e) => rewritten.includes(String(e.__CURSOR)));
    const expected = pick(journalctlEntries(fixture.dir, WANTED));
    expect(expected).toHaveLength(rewritten.length);
    for (const reversed of [false, true]) {
      expectSameEntries(pick(nativeEntries(fixture.dir, WANTED, reversed)), expected, `entries journal-remote wrote twice, ${orderName(reversed)}`);
    }
  });

  it('when one writer rotated its journal, seeking after the first, a middle and the last cursor (and those of entries written twice) succeeds and yields what journalctl --after-cursor yields', () => {
    const fixture = buildRotatedCorpus(tempRoot());
    const cursors = [...cursorsOf(fixture), ...fixture.facts.rewrittenCursors as string[]];
    expect(expectSameAfterCursors(fixture, cursors, undefined)).toBe(2 * cursors.length);
    expect(expectSameAfterCursors(fixture, cursors, WANTED)).toBe(2 * cursors.length);
  });

  it("when files come from two writers with a clock jump, entries come in journalctl's merged order", () => {
    const fixture = buildTwoWriters(tempRoot());
    expectSameAsJournalctl(fixture);
  });

  it('when the same entry is in the files of two writers, the reader gives it once, with the cursor journalctl gives', () => {
    const fixture = buildTwoWriters(tempRoot());
    const duplicates = (entries: Entry[]) => entries.filter((e) => String(e.MESSAGE).startsWith('duplicate '));
    const expected = duplicates(journalctlEntries(fixture.dir, WANTED));
    expect(expected).toHaveLength(3);
    expectSameEntries(duplicates(nativeEntries(fixture.dir, WANTED)), expected, 'entries present in both files');
  });

  it("when files come from two writers, seeking after a cursor either declines or yields what journalctl --after-cursor yields", () => {
    const fixture = buildTwoWriters(tempRoot());
    // also the cursors of the entries around the clock jump and of the entries present in both files
    const cursors = cursorsOf(fixture, (e) => /^(alpha 29|alpha relayed 29|alpha 30|beta 30|duplicate .*)$/.test(String(e.MESSAGE)));
    expect(cursors.length).toBeGreaterThanOrEqual(8);
    for (const [, wanted] of WANTED_SETS) expectSameAfterCursors(fixture, cursors, wanted);
  });

  it("when three writers' orders contradict each other, the reader gives and skips exactly the entries journalctl does, reading a machine-id subdirectory too", () => {
    const fixture = buildContradictoryWriters(tempRoot());
    expect(sortedFiles(fixture.dir)).toEqual([...fixture.files].sort());
    expectSameAsJournalctl(fixture);
    const cursors = cursorsOf(fixture, (e) => /^[abc] (1|4|5)$/.test(String(e.MESSAGE)));
    for (const [, wanted] of WANTED_SETS) expectSameAfterCursors(fixture, cursors, wanted);
  });

  it('when values are hostile (zstd-compressed, non-UTF-8, NUL, newlines, control characters, empty, repeated, non-numeric numbers, astral), the reader decodes them as journalctl and the export parser do', () => {
    const fixture = buildHostile(tempRoot());
    expect(fixture.facts.incompatibleFlags).toMatch(/COMPRESSED-ZSTD/);
    expectSameAsJournalctl(fixture);
    const long = nativeEntries(fixture.dir, WANTED).find((e) => e.SYSLOG_IDENTIFIER === 'long');
    expect(long?.MESSAGE).toBe(LONG_MESSAGE);
    const cursors = cursorsOf(fixture, (e) => e.MESSAGE === LONG_MESSAGE);
    for (const [, wanted] of WANTED_SETS) expect(expectSameAfterCursors(fixture, cursors, wanted)).toBe(2 * cursors.length);
  });

  it('when the journal file has the older layout (not compact, Jenkins hash), the reader yields the same hostile entries as journalctl', () => {
    const fixture = buildHostile(tempRoot(), { legacy: true });
    expect(fixture.facts.incompatibleFlags).toBe('COMPRESSED-ZSTD');
    expectSameAsJournalctl(fixture);
    const cursors = cursorsOf(fixture);
    expect(expectSameAfterCursors(fixture, cursors, WANTED)).toBe(2 * cursors.length);
  });

  it('without a directory, the files of /run/log/journal then /var/log/journal (every machine id: --merge) are read as journalctl reads them, and --system keeps the system ones', () => {
    const root = tempRoot();
    const machine = '0123456789abcdef0123456789abcdef';
    const other = 'fedcba9876543210fedcba9876543210';
    // three writers' files where journald puts them, from the corpus's hosts, plus a file that is not a journal's name
    const corpus = path.join(root, 'corpus.export');
    execFileSync('node', [GEN_CORPUS, '--entries', '3000', '--seed', '5', '--format', 'export', '--out', corpus]);
    const text = readFileSync(corpus);
    const thirds = text.toString('latin1').split('\n\n').filter(Boolean);
    const part = (k: number) => Buffer.from(thirds.filter((_, i) => i % 3 === k).join('\n\n') + '\n\n', 'latin1');
    writeJournal(path.join(root, 'var/log/journal', machine, 'system.journal'), part(0));
    writeJournal(path.join(root, 'var/log/journal', machine, 'user-1000.journal'), part(1));
    writeJournal(path.join(root, 'run/log/journal', other, 'system.journal'), part(2));
    writeFileSync(path.join(root, 'var/log/journal', machine, 'system.journal.bak'), 'not read');
    for (const system of [false, true]) {
      const files = journalFilesOf({ system }, root);
      expect(files.map((f) => path.relative(root, f)).sort()).toEqual([
        `run/log/journal/${other}/system.journal`, `var/log/journal/${machine}/system.journal`, ...(system ? [] : [`var/log/journal/${machine}/user-1000.journal`]),
      ].sort());
      const journal = NativeJournal.open(files, { decode: latin1, wanted: WANTED });
      let native: Entry[];
      try {
        journal.seekHead();
        native = drain(journal);
      } finally {
        journal.close();
      }
      const bytes = execFileSync('journalctl', ['--output=export', '--merge', '--no-pager', `--root=${root}`, ...(system ? ['--system'] : [])], { maxBuffer: 1 << 28 });
      const expected = parseExport(bytes, WANTED);
      expect(expected.length).toBe(system ? 2000 : 3000);
      expectSameEntries(native, expected, `local journal under a root${system ? ', --system' : ''}`);
    }
  });

  it('an object bigger than the read window (a 300 KiB incompressible field) is read whole, and the entries after it as journalctl gives them', () => {
    const dir = path.join(tempRoot(), 'big');
    const text = new ExportText();
    const noise = randomBytes(300 * 1024);
    for (let i = 0; i < 40; i++) {
      text.entry([['__REALTIME_TIMESTAMP', 1767225600_000_000 + i * 1000], ['__MONOTONIC_TIMESTAMP', 5_000_000 + i * 1000], ['_BOOT_ID', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'],
        ['_HOSTNAME', 'big'], ['SYSLOG_IDENTIFIER', 'dumper'], ['MESSAGE', `entry ${i}`], ...(i % 10 === 3 ? [['CORE', Buffer.concat([noise, Buffer.from([i])])] as const] : [])]);
    }
    const file = path.join(dir, 'remote.journal');
    writeJournal(file, text.toBuffer());
    // stored as it is (zstd cannot shrink noise): the object exceeds the 256 KiB window
    expect(scanJournalFile(file).largestPlainData).toBeGreaterThan(300 * 1024);
    const expected = journalctlEntries(dir);
    expect(expected).toHaveLength(40);
    expect((expected[3]!.CORE as string).length).toBe(300 * 1024 + 1);
    expectSameEntries(nativeEntries(dir, undefined), expected, 'a 300 KiB field');
  });

  it('when a *.journal file of the directory is not a journal, open throws NativeUnsupported', () => {
    const root = tempRoot();
    for (const kind of ['random', 'signature'] as const) {
      const dir = buildGarbage(root, kind);
      expect(() => openNative(dir, undefined), `${kind} bytes`).toThrow(NativeUnsupported);
    }
  });

  it('when a garbage *.journal sits beside real journal files, the reader refuses (NativeUnsupported) rather than yield other entries than journalctl', () => {
    const root = tempRoot();
    const fixture = buildHostile(root);
    copyFileSync(path.join(buildGarbage(root, 'signature'), 'x.journal'), path.join(fixture.dir, 'x.journal'));
    let native: Entry[];
    try {
      native = nativeEntries(fixture.dir, undefined);
    } catch (error) {
      expect(error).toBeInstanceOf(NativeUnsupported);
      return;
    }
    expectSameEntries(native, journalctlEntries(fixture.dir), 'garbage beside a journal');
  });
});
