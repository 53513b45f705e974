import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, opendirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decompress as zstdDecompress } from 'fzstd';
import { ExportParser } from '../../src/journal/export-parser.js';
import { makeByteDecoder } from '../../src/journal/fields.js';
import type { Entry } from '../../src/modules/api.js';

/*
 * Real journal directories for differential tests of journal readers: export text (generated here
 * or by the corpus generator) is turned into journal files by systemd-journal-remote, then each
 * builder checks with journalctl (and by scanning the files' objects) that the directory holds
 * what the fixture claims, and throws otherwise. Everything lives under a temp root the caller removes.
 */

export const REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync) ?? '/usr/lib/systemd/systemd-journal-remote';
export const GEN_CORPUS = '/work/shared/corpus/gen-corpus.mjs';
const FIRST_DAY = 1767225600; // 2026-01-01T00:00:00Z
const DAY = 86_400;
const S = 1_000_000; // µs in a second
const T0 = FIRST_DAY * S;

export const latin1 = makeByteDecoder('iso-8859-1');

export interface JournalFixture {
  /** The directory to give journalctl --directory and journalFilesOf({ directory }). */
  dir: string;
  /** Every journal file in it (absolute paths), as written (machine-id subdirectories included). */
  files: string[];
  /** Entries journalctl --merge shows for the directory (checked when the fixture was built). */
  entries: number;
  /** True when all files share one sequence-number source (one writer, rotated): exact cursor seeks must work. */
  singleWriter: boolean;
  /** What the build verified, for messages and further assertions. */
  facts: Record<string, unknown>;
}

export function makeTempRoot(prefix = 'peruse-native-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

// ---------------------------------------------------------------- export text

export type FieldValue = string | number | Buffer;

/** Builds the journal export format: text syntax for one-line strings, binary syntax for Buffers and multi-line strings. */
export class ExportText {
  private readonly parts: Buffer[] = [];
  count = 0;

  entry(fields: ReadonlyArray<readonly [string, FieldValue]>): this {
    for (const [name, value] of fields) {
      if (Buffer.isBuffer(value) || (typeof value === 'string' && value.includes('\n'))) {
        const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(bytes.length));
        this.parts.push(Buffer.from(`${name}\n`, 'utf8'), length, bytes, Buffer.from('\n'));
      } else this.parts.push(Buffer.from(`${name}=${value}\n`, 'utf8'));
    }
    this.parts.push(Buffer.from('\n'));
    this.count++;
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface WriteOptions {
  /** RLIMIT_FSIZE (KiB) for journal-remote: a write past it fails with EFBIG and journal-remote rotates the file. */
  fileSizeLimitKiB?: number;
  /** Extra environment, e.g. SYSTEMD_JOURNAL_COMPACT=0 SYSTEMD_JOURNAL_KEYED_HASH=0 for the pre-252 file format. */
  env?: Record<string, string>;
}

/** Appends the entries of `exportBytes` to the journal file `file` (created if missing) with systemd-journal-remote. */
export function writeJournal(file: string, exportBytes: Buffer, options: WriteOptions = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // SIGXFSZ ignored (inherited through exec): a write past the size limit fails with EFBIG instead of killing the writer
  const limit = options.fileSizeLimitKiB === undefined ? '' : `trap '' XFSZ; ulimit -f ${options.fileSizeLimitKiB}; `;
  const result = spawnSync('bash', ['-c', `${limit}exec "$0" -o "$1" -`, REMOTE, file], {
    input: exportBytes, env: { ...process.env, ...options.env }, maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`systemd-journal-remote -o ${file} failed (${result.status ?? result.signal}): ${result.stderr?.toString()}`);
}

// ---------------------------------------------------------------- journalctl

/** `journalctl --output=export --merge --no-pager --directory=DIR [extra]`, raw bytes. */
export function journalctlExport(dir: string, extra: string[] = []): Buffer {
  return execFileSync('journalctl', ['--output=export', '--merge', '--no-pager', `--directory=${dir}`, ...extra],
    { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Entries of export bytes as the journalctl source of peruse yields them (ExportParser, 8-bit decoder). */
export function parseExport(bytes: Buffer, wanted?: ReadonlySet<string>): Entry[] {
  const parser = new ExportParser(latin1, (why) => { throw new Error(`corrupt export output: ${why}`); }, wanted);
  const entries: Entry[] = [];
  // in 64 KiB chunks, like a pipe delivers them
  for (let offset = 0; offset < bytes.length; offset += 65536) {
    parser.push(bytes.subarray(offset, offset + 65536));
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) entries.push(entry);
  }
  if (parser.midEntry) throw new Error('journalctl output ends inside an entry');
  return entries;
}

/** What journalctl yields for the directory, parsed: the reference a native reader must match. */
export function journalctlEntries(dir: string, wanted?: ReadonlySet<string>, extra: string[] = []): Entry[] {
  return parseExport(journalctlExport(dir, extra), wanted);
}

/** `journalctl --header --file FILE` as name → value. */
export function journalctlHeader(file: string): Record<string, string> {
  const text = execFileSync('journalctl', ['--header', `--file=${file}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  const header: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) header[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return header;
}

// ---------------------------------------------------------------- journal file scanning (independent of any reader under test)

export const INCOMPATIBLE = { COMPRESSED_XZ: 1, COMPRESSED_LZ4: 2, KEYED_HASH: 4, COMPRESSED_ZSTD: 8, COMPACT: 16 } as const;
const OBJECT_DATA = 1;
const OBJECT_COMPRESSION_MASK = 1 | 2 | 4; // XZ, LZ4, ZSTD
const OBJECT_COMPRESSED_ZSTD = 4;

export interface JournalFileSummary {
  incompatibleFlags: number;
  seqnumId: string;
  nEntries: number;
  nObjects: number;
  /** DATA objects stored compressed: flags and the payload (`NAME=value`) decompressed when zstd. */
  compressedData: { offset: number; flags: number; storedSize: number; payload?: Buffer }[];
  dataObjects: number;
  /** Size of the biggest DATA object stored uncompressed. */
  largestPlainData: number;
}

/** Walks every object of a journal file (format of systemd's journal-def.h) and reports the compressed DATA objects. */
export function scanJournalFile(file: string): JournalFileSummary {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 8).toString('latin1') !== 'LPKSHHRH') throw new Error(`${file}: not a journal file`);
  const incompatibleFlags = bytes.readUInt32LE(12);
  const seqnumId = bytes.subarray(72, 88).toString('hex');
  const headerSize = Number(bytes.readBigUInt64LE(88));
  const tailObject = Number(bytes.readBigUInt64LE(136));
  const nObjects = Number(bytes.readBigUInt64LE(144));
  const nEntries = Number(bytes.readBigUInt64LE(152));
  const compact = (incompatibleFlags & INCOMPATIBLE.COMPACT) !== 0;
  const payloadStart = compact ? 72 : 64; // DataObject: header 16, hash, next_hash, next_field, entry, entry_array, n_entries (+ 2×le32 when compact)
  const compressedData: JournalFileSummary['compressedData'] = [];
  let dataObjects = 0;
  let largestPlainData = 0;
  let seen = 0;
  for (let offset = headerSize; offset !== 0 && offset <= tailObject;) {
    const type = bytes[offset]!;
    const flags = bytes[offset + 1]!;
    const size = Number(bytes.readBigUInt64LE(offset + 8));
    if (size < 16 || offset + size > bytes.length) throw new Error(`${file}: bad object at ${offset} (size ${size})`);
    seen++;
    if (type === OBJECT_DATA) {
      dataObjects++;
      if ((flags & OBJECT_COMPRESSION_MASK) === 0) largestPlainData = Math.max(largestPlainData, size);
      else {
        const stored = bytes.subarray(offset + payloadStart, offset + size);
        compressedData.push({ offset, flags, storedSize: stored.length, payload: flags & OBJECT_COMPRESSED_ZSTD ? unzstd(stored) : undefined });
      }
    }
    offset += (size + 7) & ~7;
  }
  if (seen !== nObjects) throw new Error(`${file}: walked ${seen} objects, header says ${nObjects}`);
  return { incompatibleFlags, seqnumId, nEntries, nObjects, compressedData, dataObjects, largestPlainData };
}

/** zstd frame → bytes, with the zstd command when present (an implementation independent of fzstd), else fzstd. */
function unzstd(frame: Buffer): Buffer {
  const cli = spawnSync('zstd', ['-d', '-c', '-q'], { input: frame, maxBuffer: 1 << 26 });
  if (cli.status === 0) return cli.stdout;
  return Buffer.from(zstdDecompress(frame));
}

/** Journal files in a directory and its machine-id subdirectories, listed by this helper (not by the code under test). */
function listJournalFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (/\.journal~?$/.test(name)) files.push(full);
    else if (/^[0-9a-f]{32}$/.test(name)) files.push(...listJournalFiles(full));
  }
  return files;
}

/** Names in the order the file system returns them (journalctl's order; readdirSync sorts them). */
export function readdirOrder(dir: string): string[] {
  const handle = opendirSync(dir);
  try {
    const names: string[] = [];
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) names.push(entry.name);
    return names;
  } finally {
    handle.closeSync();
  }
}

/** Entries in gen-corpus export text (each begins with __REALTIME_TIMESTAMP). */
function countExportEntries(bytes: Buffer): number {
  let count = bytes.subarray(0, 21).toString('latin1') === '__REALTIME_TIMESTAMP=' ? 1 : 0;
  for (let at = bytes.indexOf('\n\n__REALTIME_TIMESTAMP='); at >= 0; at = bytes.indexOf('\n\n__REALTIME_TIMESTAMP=', at + 2)) count++;
  return count;
}

function fail(fixture: string, why: string): never {
  throw new Error(`fixture "${fixture}" does not hold what it claims: ${why}`);
}

const messagesOf = (entries: Entry[]) => entries.map((e) => String(e.MESSAGE));

// ---------------------------------------------------------------- a. corpus, one writer, rotated

/**
 * gen-corpus entries of 4 hosts (non-UTF-8 messages included) appended in batches to one remote.journal by
 * journal-remote under a file-size limit, so it rotates: archived `remote@<seqnum id>-<head seqnum>-<head time>.journal`
 * files plus the active one, all of one sequence-number source. The oldest archive is renamed `*.journal~`
 * (how journald sets aside a file it could not open cleanly): journalctl reads those too.
 * A side effect of rotating on a failed write: the entry being written can be complete in the old file and is
 * written again, with the next seqnum, at the head of the new one (facts.rewrittenCursors; journalctl shows both).
 */
export function buildRotatedCorpus(root: string): JournalFixture {
  const name = 'rotated corpus';
  const dir = path.join(root, 'rotated');
  const work = path.join(root, 'rotated-export');
  mkdirSync(dir, { recursive: true });
  mkdirSync(work, { recursive: true });
  let written = 0;
  // 8 MiB files (journal-remote grows a file 8 MiB at a time; the size limit makes the next growth fail): ~11 000
  // corpus entries each. If a file system gives other sizes, more batches are appended (same seqnum source) until it rotated twice.
  for (let batch = 0; batch < 6 && listJournalFiles(dir).length < 3; batch++) {
    const file = path.join(work, `batch-${batch}.export`);
    execFileSync('node', [GEN_CORPUS, '--entries', String(batch === 0 ? 24_000 : 8_000), '--seed', String(11 + batch),
      '--start', String(FIRST_DAY + batch * DAY), '--format', 'export', '--out', file]);
    const bytes = readFileSync(file);
    written += countExportEntries(bytes);
    writeJournal(path.join(dir, 'remote.journal'), bytes, { fileSizeLimitKiB: 12 * 1024 });
  }
  const archived = readdirSync(dir).filter((f) => f.startsWith('remote@')).sort(); // same seqnum id: sorted by head seqnum
  if (archived.length < 2) fail(name, `journal-remote rotated ${archived.length} times, not at least twice`);
  renameSync(path.join(dir, archived[0]!), path.join(dir, `${archived[0]!}~`));
  const files = listJournalFiles(dir);

  const summaries = files.map((f) => scanJournalFile(f));
  const seqnumIds = new Set(summaries.map((s) => s.seqnumId));
  if (seqnumIds.size !== 1) fail(name, `${seqnumIds.size} sequence-number sources, expected 1`);
  const perFile = summaries.map((s) => s.nEntries);
  const stored = perFile.reduce((a, b) => a + b, 0);
  const entries = journalctlEntries(dir);
  if (entries.length !== stored) fail(name, `journalctl shows ${entries.length} entries, the files hold ${perFile.join('+')}`);
  // the entry whose write failed at the size limit can be complete in the old file too: journal-remote writes it
  // again, with the next seqnum, in the new one (journalctl shows both); every written entry is there at least once
  const keyOf = (e: Entry) => `${e.__REALTIME_TIMESTAMP} ${e._BOOT_ID} ${e.MESSAGE}`;
  const copies = new Map<string, string[]>();
  for (const e of entries) copies.set(keyOf(e), [...(copies.get(keyOf(e)) ?? []), String(e.__CURSOR)]);
  if (copies.size !== written) fail(name, `journalctl shows ${copies.size} distinct entries, ${written} were written`);
  const rewrittenCursors = [...copies.values()].filter((cursors) => cursors.length > 1).flat();
  const hosts = [...new Set(entries.map((e) => String(e._HOSTNAME)))].sort();
  if (hosts.length < 4) fail(name, `hosts ${hosts.join(',')}`);
  const latin1Messages = entries.filter((e) => String(e.MESSAGE).includes('jos\u00e9')).length;
  if (latin1Messages === 0) fail(name, 'no non-UTF-8 (ISO-8859-1) message');
  return {
    dir, files, entries: entries.length, singleWriter: true,
    facts: { files: files.map((f) => path.basename(f)), entriesPerFile: perFile, written, rewrittenAtRotation: entries.length - written, rewrittenCursors,
      hosts, latin1Messages, tildeFile: `${archived[0]!}~` },
  };
}

// ---------------------------------------------------------------- b. two writers, clock jump, duplicates, shared boot

const BOOT_ALPHA = 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1';
const BOOT_BETA = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2';
const BOOT_GAMMA = 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3';
const MONO_ALPHA = 1_000 * S;
const MONO_BETA = 5_000 * S;
const JUMP = 45 * 60 * S; // the clock jumps back 45 minutes between entries 29 and 30

function common(rt: number, mono: number, boot: string, host: string, ident: string, pid: number): [string, FieldValue][] {
  return [['__REALTIME_TIMESTAMP', rt], ['__MONOTONIC_TIMESTAMP', mono], ['_BOOT_ID', boot], ['_HOSTNAME', host],
    ['PRIORITY', 6], ['SYSLOG_IDENTIFIER', ident], ['_PID', pid], ['_UID', 0], ['_TRANSPORT', 'journal']];
}

/**
 * Two journal-remote runs into remote-a.journal and remote-b.journal: two sequence-number sources.
 *  - alpha (boot A) writes one entry a second; after 30 entries its clock jumps back 45 minutes (realtime goes
 *    backwards inside remote-a, monotonic keeps rising);
 *  - beta (boot B) writes half a second after each of alpha's entries, clock jump included: realtimes interleave;
 *  - remote-b also holds relayed entries of boot A (same boot, other file: journalctl orders them against
 *    remote-a by monotonic time, not realtime); the one at beta's 29th second is older, by monotonic time,
 *    than alpha's first entry after the jump, so it lets the merge go on interleaving after the jump;
 *  - three entries are byte-identical in both files (same boot, timestamps, fields): journalctl shows each once.
 */
export function buildTwoWriters(root: string): JournalFixture {
  const name = 'two writers';
  const dir = path.join(root, 'two-writers');
  const a = new ExportText();
  const b = new ExportText();
  const rtOf = (i: number, offset: number) => T0 + i * S + offset - (i >= 30 ? JUMP : 0);
  const duplicate = (k: number, i: number): [string, FieldValue][] =>
    [...common(rtOf(i, 200_000), MONO_ALPHA + i * S + 200_000, BOOT_ALPHA, 'alpha', 'dup', 4242), ['MESSAGE', `duplicate ${k} present in both files`]];
  const duplicatesAfter = new Map([[10, 1], [40, 2], [50, 3]]);
  const relayedAt = new Set([7, 14, 21, 29, 44]);
  for (let i = 0; i < 60; i++) {
    a.entry([...common(rtOf(i, 0), MONO_ALPHA + i * S, BOOT_ALPHA, 'alpha', 'alpha-app', 100), ['MESSAGE', `alpha ${i}`], ['SEQ', i]]);
    const k = duplicatesAfter.get(i);
    // the copy in remote-b sits where beta's timeline puts it: between beta's entries i-1 (+0.5 s) and i (+0.5 s)
    if (k !== undefined) b.entry(duplicate(k, i));
    if (relayedAt.has(i)) {
      b.entry([...common(rtOf(i, 500_000), MONO_ALPHA + i * S + 700_000, BOOT_ALPHA, 'alpha', 'relay', 300), ['MESSAGE', `alpha relayed ${i}`], ['SEQ', i]]);
    } else {
      b.entry([...common(rtOf(i, 500_000), MONO_BETA + i * S + 500_000, BOOT_BETA, 'beta', 'beta-app', 200), ['MESSAGE', `beta ${i}`], ['SEQ', i]]);
    }
    if (k !== undefined) a.entry(duplicate(k, i));
  }
  const fileA = path.join(dir, 'remote-a.journal');
  const fileB = path.join(dir, 'remote-b.journal');
  writeJournal(fileA, a.toBuffer());
  writeJournal(fileB, b.toBuffer());
  const files = [fileA, fileB];

  const [sa, sb] = files.map((f) => scanJournalFile(f));
  if (sa!.seqnumId === sb!.seqnumId) fail(name, 'both files share a sequence-number source');
  const fileEntries = (f: string) => parseExport(execFileSync('journalctl', ['--output=export', '--no-pager', `--file=${f}`], { maxBuffer: 1 << 28 }));
  const aEntries = fileEntries(fileA);
  const backwards = aEntries.findIndex((e, i) => i > 0 && Number(e.__REALTIME_TIMESTAMP) < Number(aEntries[i - 1]!.__REALTIME_TIMESTAMP));
  if (backwards < 0) fail(name, 'realtime never goes backwards in remote-a');
  const written = a.count + b.count;
  const merged = journalctlEntries(dir);
  if (journalctlEntries(dir).length !== merged.length) fail(name, 'journalctl is not deterministic');
  if (merged.length !== written - 3) fail(name, `journalctl shows ${merged.length} entries, expected ${written} written minus 3 duplicates`);
  const dupShown = messagesOf(merged).filter((m) => m.startsWith('duplicate ')).length;
  if (dupShown !== 3) fail(name, `duplicates shown ${dupShown} times, expected 3`);
  const mergedBackwards = merged.some((e, i) => i > 0 && Number(e.__REALTIME_TIMESTAMP) < Number(merged[i - 1]!.__REALTIME_TIMESTAMP));
  if (!mergedBackwards) fail(name, 'the merged output is sorted by realtime: the clock jump is not exercised');
  const bootsInB = new Set(fileEntries(fileB).map((e) => e._BOOT_ID));
  if (!bootsInB.has(BOOT_ALPHA) || !bootsInB.has(BOOT_BETA)) fail(name, 'remote-b does not hold entries of both boots');
  // which copy of a duplicate journalctl shows depends on the order it enumerated the files (readdir order)
  const dupCursorFile = merged.filter((e) => String(e.MESSAGE).startsWith('duplicate ')).map((e) =>
    String(e.__CURSOR).includes(`s=${sa!.seqnumId}`) ? 'remote-a' : 'remote-b');
  const afterJump = messagesOf(merged).slice(messagesOf(merged).indexOf('alpha 29'), messagesOf(merged).indexOf('alpha 29') + 6);
  return {
    dir, files, entries: merged.length, singleWriter: false,
    facts: { written, shown: merged.length, realtimeBackwardsInRemoteAAt: backwards, duplicateShownFrom: dupCursorFile, afterJump,
      readdirOrder: readdirOrder(dir) },
  };
}

// ---------------------------------------------------------------- b'. three writers whose orders contradict each other

/**
 * Three writers, the third file in a machine-id subdirectory (journalctl --directory reads those):
 *   remote-a.journal (boot X), <machine-id>/remote-b.journal (boot X), remote-c.journal (boot Y).
 * journalctl compares entries of one boot by monotonic time and others by realtime. Every 4th round is a
 * cycle: a < b (monotonic), b < c (realtime), c < a (realtime); journalctl then picks a "smallest" entry
 * that depends on the order it enumerated the files, and skips the entries of the other files that compare
 * before it: some entries are never shown. The other rounds are consistent (c, a, b).
 */
export function buildContradictoryWriters(root: string): JournalFixture {
  const name = 'contradictory writers';
  const dir = path.join(root, 'contradictory');
  const machineId = '0123456789abcdef0123456789abcdef';
  const a = new ExportText();
  const b = new ExportText();
  const c = new ExportText();
  const ROUNDS = 40;
  for (let k = 0; k < ROUNDS; k++) {
    const t = T0 + k * 10 * S;
    const cycle = k % 4 === 0;
    a.entry([...common(t + 3 * S, MONO_ALPHA + k * 10 * S + 1 * S, BOOT_ALPHA, 'alpha', 'writer-a', 11), ['MESSAGE', `a ${k}`]]);
    b.entry([...common(t + (cycle ? 1 : 3.5) * S, MONO_ALPHA + k * 10 * S + 2 * S, BOOT_ALPHA, 'alpha', 'writer-b', 12), ['MESSAGE', `b ${k}${cycle ? ' (cycle)' : ''}`]]);
    c.entry([...common(t + 2 * S, MONO_BETA + k * 10 * S, BOOT_GAMMA, 'gamma', 'writer-c', 13), ['MESSAGE', `c ${k}`]]);
  }
  const files = [path.join(dir, 'remote-a.journal'), path.join(dir, machineId, 'remote-b.journal'), path.join(dir, 'remote-c.journal')];
  writeJournal(files[0]!, a.toBuffer());
  writeJournal(files[1]!, b.toBuffer());
  writeJournal(files[2]!, c.toBuffer());

  const ids = new Set(files.map((f) => scanJournalFile(f).seqnumId));
  if (ids.size !== 3) fail(name, `${ids.size} sequence-number sources, expected 3`);
  const merged = journalctlEntries(dir);
  const written = 3 * ROUNDS;
  const shown = new Set(messagesOf(merged));
  if (!['a 1', 'b 1', 'c 1'].every((m) => shown.has(m))) fail(name, 'journalctl does not read all three files (machine-id subdirectory?)');
  if (merged.length >= written) fail(name, `journalctl shows all ${written} entries: no contradiction exercised`);
  const skipped = [...Array(ROUNDS).keys()].flatMap((k) => [`a ${k}`, `b ${k}${k % 4 === 0 ? ' (cycle)' : ''}`, `c ${k}`]).filter((m) => !shown.has(m));
  return {
    dir, files, entries: merged.length, singleWriter: false,
    facts: { written, shown: merged.length, skipped, readdirOrder: readdirOrder(dir) },
  };
}

// ---------------------------------------------------------------- c. hostile values

export const LONG_MESSAGE = `${'long message, compressible: '.repeat(150)}${'x'.repeat(800)}`.slice(0, 5000);
export const LATIN1_LONG = Buffer.from(`${'d\u00e9j\u00e0 vu, na\u00efve fa\u00e7ade; '.repeat(200)}`.slice(0, 5000), 'latin1');

/** Deterministic pseudo-random bytes (incompressible). */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** The hostile entries as export text (host "hostile", one boot, one entry a second). */
export function hostileExport(): ExportText {
  const text = new ExportText();
  const boot = 'deadbeefdeadbeefdeadbeefdeadbeef';
  let i = 0;
  const head = (ident: string): [string, FieldValue][] =>
    [['__REALTIME_TIMESTAMP', T0 + i * S], ['__MONOTONIC_TIMESTAMP', 7 * S + i++ * S], ['_BOOT_ID', boot], ['_HOSTNAME', 'hostile'], ['SYSLOG_IDENTIFIER', ident]];
  // REPEATED=two is stored here first: in the entry that repeats the field, its data object comes before "one"'s
  // (entry items are ordered by object offset), so journalctl shows "two" first and the first value kept is "two"
  text.entry([...head('first'), ['MESSAGE', 'plain'], ['REPEATED', 'two'], ['_PID', 1]]);
  text.entry([...head('long'), ['MESSAGE', LONG_MESSAGE], ['_PID', 2]]);
  text.entry([...head('long-latin1'), ['MESSAGE', LATIN1_LONG], ['_PID', 3]]);
  text.entry([...head('incompressible'), ['MESSAGE', 'an incompressible 700-byte field follows'], ['NOISE', noise(700, 7)]]);
  text.entry([...head('latin1'), ['MESSAGE', Buffer.from([0x6a, 0x6f, 0x73, 0xe9, 0x20, 0xa9, 0xff])]]);
  text.entry([...head('nul'), ['MESSAGE', Buffer.from('before\0after', 'latin1')]]);
  text.entry([...head('bad-utf8'), ['MESSAGE', Buffer.concat([Buffer.from('cut emoji '), Buffer.from('\u{1F600}', 'utf8').subarray(0, 3),
    Buffer.from(' overlong '), Buffer.from([0xc0, 0x80]), Buffer.from(' surrogate '), Buffer.from([0xed, 0xa0, 0x80])])]]);
  text.entry([...head('newline'), ['MESSAGE', 'line one\nline two\n'], ['_PID', 4]]);
  text.entry([...head('control'), ['MESSAGE', 'ctl \x01\x07 \x1b[31mred\x1b[0m\ttab\rcr \x7f del']]);
  text.entry([...head('empty'), ['MESSAGE', ''], ['EMPTY', '']]);
  text.entry([...head('repeated'), ['MESSAGE', 'field repeated'], ['REPEATED', 'one'], ['REPEATED', 'two']]);
  text.entry([...head('repeated-new'), ['MESSAGE', 'field repeated, both values new'], ['TWICE', 'first'], ['TWICE', 'second']]);
  text.entry([...head('numbers'), ['MESSAGE', 'numeric fields that are not plain numbers'], ['_PID', 'abc'], ['SYSLOG_PID', ' 42'],
    ['ERRNO', '0x10'], ['CODE_LINE', '1e3'], ['_GID', ''], ['_UID', '-1'], ['PRIORITY', '99999999999999999999'], ['EXIT_STATUS', '3.5']]);
  text.entry([...head('numbers-binary'), ['MESSAGE', 'numeric field in binary syntax'], ['_PID', Buffer.from([0x31, 0x32, 0xe9])], ['_UID', Buffer.from('7\n8')]]);
  text.entry([...head('astral'), ['MESSAGE', 'emoji \u{1F600} \u{1F389} clef \u{1D11E} cjk \u{20000} done'], ['WHO', 'Zo\u00eb \u{1F469}\u200D\u{1F4BB}']]);
  text.entry([...head('equals'), ['MESSAGE', 'a=b=c'], ['KEY_WITH_DIGITS_2', '=leading equals']]);
  text.entry([...head('last'), ['MESSAGE', 'last hostile entry'], ['_PID', 5]]);
  return text;
}

/**
 * Hostile values in one remote.journal (one writer): 5 000-byte messages stored zstd-compressed (text and
 * ISO-8859-1), an incompressible 700-byte field stored raw, non-UTF-8 bytes, NUL, invalid UTF-8 sequences,
 * embedded newlines, control characters, empty values, a field repeated with different values, numeric fields
 * that are not numbers, astral characters. `legacy`: the file is written in the older format
 * (SYSTEMD_JOURNAL_COMPACT=0, SYSTEMD_JOURNAL_KEYED_HASH=0: 64-bit offsets in entries, Jenkins hash).
 */
export function buildHostile(root: string, options: { legacy?: boolean } = {}): JournalFixture {
  const name = options.legacy ? 'hostile (legacy format)' : 'hostile';
  const dir = path.join(root, options.legacy ? 'hostile-legacy' : 'hostile');
  const text = hostileExport();
  const file = path.join(dir, 'remote.journal');
  writeJournal(file, text.toBuffer(), options.legacy ? { env: { SYSTEMD_JOURNAL_COMPACT: '0', SYSTEMD_JOURNAL_KEYED_HASH: '0' } } : {});

  const summary = scanJournalFile(file);
  const header = journalctlHeader(file);
  const flags = header['Incompatible flags'] ?? '';
  if (!/COMPRESSED-ZSTD/.test(flags)) fail(name, `incompatible flags "${flags}" lack COMPRESSED-ZSTD`);
  const compact = (summary.incompatibleFlags & INCOMPATIBLE.COMPACT) !== 0;
  const keyed = (summary.incompatibleFlags & INCOMPATIBLE.KEYED_HASH) !== 0;
  if (options.legacy ? compact || keyed : !compact || !keyed) fail(name, `incompatible flags "${flags}"`);
  const payloads = summary.compressedData.map((d) => d.payload);
  const longCompressed = payloads.some((p) => p?.equals(Buffer.from(`MESSAGE=${LONG_MESSAGE}`, 'utf8')));
  const latin1Compressed = payloads.some((p) => p?.equals(Buffer.concat([Buffer.from('MESSAGE='), LATIN1_LONG])));
  if (!longCompressed || !latin1Compressed) fail(name, `compressed DATA objects: ${summary.compressedData.length}; 5 000-byte messages compressed: text ${longCompressed}, latin1 ${latin1Compressed}`);
  if (summary.compressedData.some((d) => d.payload?.subarray(0, 6).toString() === 'NOISE=')) fail(name, 'the incompressible field was stored compressed');

  const entries = journalctlEntries(dir);
  if (entries.length !== text.count) fail(name, `journalctl shows ${entries.length} entries, ${text.count} were written`);
  const by = (ident: string) => entries.find((e) => e.SYSLOG_IDENTIFIER === ident) ?? fail(name, `no entry "${ident}"`);
  const checks: [string, boolean][] = [
    ['long message intact', by('long').MESSAGE === LONG_MESSAGE],
    ['long latin1 message intact', by('long-latin1').MESSAGE === LATIN1_LONG.toString('latin1')],
    ['latin1 bytes', by('latin1').MESSAGE === 'jos\u00e9 \u00a9\u00ff'],
    ['NUL kept', by('nul').MESSAGE === 'before\0after'],
    ['newline kept', by('newline').MESSAGE === 'line one\nline two\n'],
    ['control characters kept', by('control').MESSAGE === 'ctl \x01\x07 \x1b[31mred\x1b[0m\ttab\rcr \x7f del'],
    ['empty values kept', by('empty').MESSAGE === '' && by('empty').EMPTY === ''],
    ['repeated field: the value stored first wins', by('repeated').REPEATED === 'two'],
    ['repeated field, both new: first written wins', by('repeated-new').TWICE === 'first'],
    ['_PID=abc stays a string', by('numbers')._PID === 'abc'],
    ['astral characters', String(by('astral').MESSAGE).includes('\u{1F600}')],
    ['noise present', typeof by('incompressible').NOISE === 'string' && String(by('incompressible').NOISE).length === 700],
  ];
  const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
  if (failed.length > 0) fail(name, failed.join('; '));
  // journalctl prints "REPEATED=two" before "REPEATED=one": both values reach the export stream
  const block = `${journalctlExport(dir).toString('latin1').split('\n\n').find((e) => e.includes('\nMESSAGE=field repeated\n')) ?? ''}\n`;
  const two = block.indexOf('\nREPEATED=two\n');
  if (two < 0 || block.indexOf('\nREPEATED=one\n') < two) fail(name, 'journalctl does not show REPEATED=two, then REPEATED=one');
  return {
    dir, files: [file], entries: entries.length, singleWriter: true,
    facts: { incompatibleFlags: flags, compressedDataObjects: summary.compressedData.map((d) => ({ flags: d.flags, stored: d.storedSize, size: d.payload?.length })),
      dataObjects: summary.dataObjects, checks: checks.map(([what]) => what) },
  };
}

// ---------------------------------------------------------------- not a journal

/** A directory whose only *.journal file is garbage: random bytes, or the journal signature followed by garbage. */
export function buildGarbage(root: string, kind: 'random' | 'signature'): string {
  const dir = path.join(root, `garbage-${kind}`);
  mkdirSync(dir, { recursive: true });
  const bytes = noise(64 * 1024, kind === 'random' ? 1 : 2);
  if (kind === 'signature') bytes.write('LPKSHHRH', 0, 'latin1');
  writeFileSync(path.join(dir, 'x.journal'), bytes);
  return dir;
}
