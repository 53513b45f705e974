import { existsSync, opendirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Entry } from '../../modules/api.js';
import { FieldNameTable } from '../bytes.js';
import { NUMERIC_FIELDS } from '../fields.js';
import { JournalFile, NativeUnsupported, type FieldDecoder } from './journal-file.js';

export { NativeUnsupported } from './journal-file.js';

/**
 * The journal files `journalctl --merge` reads (systemd 252's sd-journal): the `--file`s; else
 * `*.journal` and `*.journal~` in `--directory`, or in /run/log/journal then /var/log/journal (under
 * `root`, for tests), and in their machine-id subdirectories, in directory order (the order
 * journalctl adds them, which decides between identical entries of two files); `--system` keeps
 * the `system.journal` / `system@…` files.
 */
export function journalFilesOf(where: { directory?: string; file?: string | string[]; system?: boolean }, root = '/'): string[] {
  const files = where.file === undefined ? [] : Array.isArray(where.file) ? where.file : [where.file];
  for (const file of files) if (/[*?[]/.test(file)) throw new NativeUnsupported(`--file=${file} is a glob: left to journalctl`);
  const found = [...files];
  const wanted = where.system === true ? isSystemJournal : isJournal;
  if (where.directory !== undefined) addDirectory(where.directory, true, found, wanted);
  else if (files.length === 0) {
    for (const base of ['run/log/journal', 'var/log/journal']) {
      const directory = path.join(root, base);
      if (existsSync(directory)) addDirectory(directory, true, found, wanted);
    }
  }
  return found;
}

const MACHINE_ID = /^[0-9a-f]{32}$/;
const isJournal = (name: string): boolean => name.endsWith('.journal') || name.endsWith('.journal~');
const isSystemJournal = (name: string): boolean => isJournal(name) && (name.startsWith('system.') || name.startsWith('system@'));

function addDirectory(directory: string, root: boolean, found: string[], wanted: (name: string) => boolean): void {
  let dir;
  try {
    dir = opendirSync(directory);
  } catch (error) {
    throw new NativeUnsupported(`${directory}: ${(error as Error).message}`);
  }
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      const full = path.join(directory, entry.name);
      if (wanted(entry.name) && (entry.isFile() || entry.isSymbolicLink())) found.push(full);
      else if (root && MACHINE_ID.test(entry.name) && (entry.isDirectory() || (entry.isSymbolicLink() && statSync(full).isDirectory()))) addDirectory(full, false, found, wanted);
    }
  } finally {
    dir.closeSync();
  }
}

interface Cursor { seqnumId: string; seqnum: number }

/** The seqnum part of a cursor (`s=…;i=…;b=…;m=…;t=…;x=…`), or undefined when it has none. */
export function parseCursor(cursor: string): Cursor | undefined {
  let seqnumId: string | undefined;
  let seqnum: number | undefined;
  for (const part of cursor.split(';')) {
    if (part.startsWith('s=')) seqnumId = part.slice(2);
    else if (part.startsWith('i=') && /^[0-9a-f]{1,13}$/.test(part.slice(2))) seqnum = parseInt(part.slice(2), 16);
  }
  return seqnumId !== undefined && /^[0-9a-f]{32}$/.test(seqnumId) && seqnum !== undefined ? { seqnumId, seqnum } : undefined;
}

const enum FileState { Fresh, Candidate, Chosen, End }
const enum Location { Head, Seek, Discrete }

export interface NativeJournalOptions {
  decode: (bytes: Uint8Array) => string;
  /** The only fields to decode; undefined: every field. */
  wanted?: ReadonlySet<string>;
}

/**
 * Journal files read in-process, merged into the order of systemd 252's sd_journal_next (what
 * `journalctl --merge` prints): each file keeps a candidate, the candidates not beyond the last entry
 * given out are advanced (which also drops an entry present in two files), and the earliest
 * candidate wins by seqnum (same writer), else monotonic time (same boot), else realtime, else
 * the entries' xor hash. Entries are built as the export parser builds them from journalctl's output.
 */
export class NativeJournal {
  /** Per file (filled as open() adds them): where it stands in the merge, and its first entry to read. */
  private readonly states: FileState[] = [];
  private readonly starts: number[] = [];
  private location = Location.Head;
  /** The last entry given out (the location): its file, and its identity as that file held it. */
  private current: JournalFile | undefined;
  private seqnumId = '';
  private seqnum = 0;
  private bootId = '';
  private monotonic = 0;
  private realtime = 0;
  private xorHigh = 0;
  private xorLow = 0;
  private wanted: ReadonlySet<string> | undefined;
  private readonly decoder: FieldDecoder;
  private wants = { cursor: true, realtime: true, monotonic: true, bootId: true };

  private constructor(private readonly files: JournalFile[], options: NativeJournalOptions) {
    this.decoder = {
      decode: options.decode,
      names: new FieldNameTable((name, bytes, hash) => ({
        name, bytes, hash, numeric: NUMERIC_FIELDS.has(name),
        // journalctl prints _BOOT_ID from the entry header and suppresses the data field
        wanted: name !== '_BOOT_ID' && (this.wanted === undefined || this.wanted.has(name)),
      })),
    };
    this.setWanted(options.wanted);
  }

  /** Opens every file; throws NativeUnsupported if one cannot be read natively. */
  static open(paths: readonly string[], options: NativeJournalOptions): NativeJournal {
    const files: JournalFile[] = [];
    const journal = new NativeJournal(files, options);
    try {
      for (const file of paths) files.push(JournalFile.open(file, journal.decoder));
    } catch (error) {
      for (const file of files) file.close();
      throw error;
    }
    for (let i = 0; i < files.length; i++) {
      journal.states.push(FileState.Fresh);
      journal.starts.push(0);
    }
    return journal;
  }

  get fileCount(): number {
    return this.files.length;
  }

  close(): void {
    for (const file of this.files) file.close();
  }

  setWanted(wanted: ReadonlySet<string> | undefined): void {
    this.wanted = wanted;
    this.decoder.names.clear();
    for (const file of this.files) file.forgetFields();
    const wants = (name: string): boolean => wanted === undefined || wanted.has(name);
    this.wants = { cursor: wants('__CURSOR'), realtime: wants('__REALTIME_TIMESTAMP'), monotonic: wants('__MONOTONIC_TIMESTAMP'), bootId: wants('_BOOT_ID') };
  }

  seekHead(): void {
    this.location = Location.Head;
    this.current = undefined;
    this.states.fill(FileState.Fresh);
    this.starts.fill(0);
  }

  /**
   * Positions after the entry of `cursor` (on it when `inclusive`): exact when every file comes from the cursor's writer
   * (one seqnum source), where the order is the seqnum. Otherwise false: journalctl seeks by
   * bisection on timestamps there, which this reader does not reproduce.
   */
  seekAfterCursor(cursor: string, inclusive = false): boolean {
    const parsed = parseCursor(cursor);
    if (parsed === undefined || this.files.some((f) => f.seqnumId !== parsed.seqnumId)) return false;
    this.location = Location.Seek;
    this.current = undefined;
    this.states.fill(FileState.Fresh);
    this.files.forEach((file, i) => { this.starts[i] = file.firstAfterSeqnum(inclusive ? parsed.seqnum - 1 : parsed.seqnum); });
    return true;
  }

  /** The next entry in journalctl's order, or undefined after the last one of the snapshot. */
  next(): Entry | undefined {
    const files = this.files;
    let best: JournalFile | undefined;
    let bestIndex = -1;
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      if (!this.candidate(file, i)) continue;
      if (best === undefined || compareFiles(file, best) < 0) {
        best = file;
        bestIndex = i;
      }
    }
    if (best === undefined) return undefined;
    this.states[bestIndex] = FileState.Chosen;
    this.location = Location.Discrete;
    this.current = best;
    this.seqnumId = best.seqnumId;
    this.seqnum = best.seqnum;
    this.bootId = best.bootId;
    this.monotonic = best.monotonic;
    this.realtime = best.realtime;
    this.xorHigh = best.xorHigh;
    this.xorLow = best.xorLow;
    return this.entryOf(best);
  }

  /** Puts file i on its next entry beyond the location; false when it has none. */
  private candidate(file: JournalFile, i: number): boolean {
    const state = this.states[i]!;
    if (state === FileState.End) return false;
    let moved = true;
    if (state === FileState.Fresh) moved = file.moveTo(this.starts[i]!);
    else if (state === FileState.Chosen) moved = file.moveTo(file.index + 1);
    while (moved && this.location === Location.Discrete && this.compareWithLocation(file) <= 0) moved = file.moveTo(file.index + 1);
    if (moved) this.states[i] = FileState.Candidate;
    else {
      this.states[i] = FileState.End;
      file.release();
    }
    return moved;
  }

  /** systemd 252's compare_with_location: where a file's candidate stands against the last entry given out. */
  private compareWithLocation(file: JournalFile): number {
    const sameWriter = file.seqnumId === this.seqnumId;
    const sameBoot = file.bootId === this.bootId;
    if (sameBoot && sameWriter && file.realtime === this.realtime && file.xorHigh === this.xorHigh && file.xorLow === this.xorLow
      && file.seqnum === this.seqnum && file !== this.current) return 0;
    if (sameWriter && file.seqnum !== this.seqnum) return file.seqnum < this.seqnum ? -1 : 1;
    if (sameBoot && file.monotonic !== this.monotonic) return file.monotonic < this.monotonic ? -1 : 1;
    if (file.realtime !== this.realtime) return file.realtime < this.realtime ? -1 : 1;
    return compareXor(file.xorHigh, file.xorLow, this.xorHigh, this.xorLow);
  }

  private entryOf(file: JournalFile): Entry {
    const entry: Entry = {};
    const wants = this.wants;
    if (wants.cursor) entry.__CURSOR = file.cursor();
    if (wants.realtime) entry.__REALTIME_TIMESTAMP = file.realtime;
    if (wants.monotonic) entry.__MONOTONIC_TIMESTAMP = file.monotonic;
    if (wants.bootId) entry._BOOT_ID = file.bootId;
    file.addFields(entry);
    return entry;
  }
}

/** systemd 252's journal_file_compare_locations: the order of two files' candidates. */
function compareFiles(a: JournalFile, b: JournalFile): number {
  const sameBoot = a.bootId === b.bootId;
  // identical only with the same seqnum too: a writer that wrote an entry again after rotating keeps both copies
  if (sameBoot && a.monotonic === b.monotonic && a.realtime === b.realtime && a.xorHigh === b.xorHigh && a.xorLow === b.xorLow
    && a.seqnumId === b.seqnumId && a.seqnum === b.seqnum) return 0;
  if (a.seqnumId === b.seqnumId && a.seqnum !== b.seqnum) return a.seqnum < b.seqnum ? -1 : 1;
  if (sameBoot && a.monotonic !== b.monotonic) return a.monotonic < b.monotonic ? -1 : 1;
  if (a.realtime !== b.realtime) return a.realtime < b.realtime ? -1 : 1;
  return compareXor(a.xorHigh, a.xorLow, b.xorHigh, b.xorLow);
}

function compareXor(aHigh: number, aLow: number, bHigh: number, bLow: number): number {
  if (aHigh !== bHigh) return aHigh < bHigh ? -1 : 1;
  return aLow === bLow ? 0 : aLow < bLow ? -1 : 1;
}

/**
 * Reads a NativeJournal to its end or until it gives up: `next()` returns undefined in both cases,
 * and `stopped` then says why it gave up (the caller hands over to journalctl after the last entry).
 */
export class CatchUp {
  stopped: string | undefined;

  constructor(readonly journal: NativeJournal) {}

  next(): Entry | undefined {
    if (this.stopped !== undefined) return undefined;
    try {
      return this.journal.next();
    } catch (error) {
      // a failed read (EIO, a file truncated under us) is a reason to hand over too
      this.stopped = (error as Error).message;
      return undefined;
    }
  }
}
