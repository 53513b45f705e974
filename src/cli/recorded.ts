import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Entry } from '../modules/api.js';
import { forEachExportEntry } from '../journal/export-parser.js';
import { openNative } from '../journal/native/open.js';
import { CatchUp } from '../journal/native/reader.js';
import { handOverAfter, SkipThrough } from '../journal/hand-over.js';
import { blockBuffered } from '../journal/source.js';
import type { Logger } from '../system/log.js';

/** Where recorded journal entries come from: journal files, or the local journal through journalctl. */
export interface JournalWhere {
  directory?: string;
  file?: string[];
  /** The local journal (no directory, no file): journalctl's own filters. */
  since?: string;
  until?: string;
  units?: string[];
}

export interface RecordedOptions {
  where: JournalWhere;
  journalctl?: string;
  reader?: 'auto' | 'journalctl';
  decode: (bytes: Uint8Array) => string;
  /** Only these fields are decoded; undefined: every field. */
  wanted?: ReadonlySet<string>;
  log: Logger;
  /** Each entry with its ordinal; a returned Promise pauses reading. */
  onEntry: (entry: Entry, ordinal: number) => void | Promise<void>;
}

/**
 * Reads journal files to their end (in-process, or through journalctl for what the in-process
 * reader cannot read exactly), or the local journal through journalctl. Resolves when all is read.
 */
export async function readRecordedJournal(options: RecordedOptions): Promise<void> {
  const { where, decode, wanted, log, onEntry } = options;
  let child: ChildProcess | undefined;
  const journalctlCommand = options.journalctl ?? 'journalctl';
  const journalctlArgs = (start: { after: string } | { since: string } | undefined): string[] => {
    const files = where.directory !== undefined ? ['--directory', where.directory] : (where.file ?? []).flatMap((f) => ['--file', f]);
    const filters = [
      ...(where.since !== undefined ? [`--since=${where.since}`] : []),
      ...(where.until !== undefined ? [`--until=${where.until}`] : []),
      ...(where.units ?? []).flatMap((u) => ['--unit', u]),
    ];
    const position = start === undefined ? [] : 'after' in start ? [`--after-cursor=${start.after}`] : [`--since=${start.since}`];
    return ['-o', 'export', '--merge', '--no-pager', ...position, ...files, ...filters];
  };
  const spawnJournalctl = (start: { after: string } | { since: string } | undefined): Readable => {
    const [command, argv] = blockBuffered(journalctlCommand, journalctlArgs(start));
    child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    return child.stdout!;
  };
  try {
    const local = where.directory === undefined && (where.file ?? []).length === 0;
    if (local) {
      await forEachExportEntry(spawnJournalctl(undefined), decode, onEntry, wanted);
      return;
    }
    // in-process up to the end of the files; journalctl reads on after the last entry if the reader gives up
    const native = openNative({ directory: where.directory, file: where.file, reader: options.reader }, { head: true }, { decode, wanted });
    let read = 0;
    let lastCursor: string | undefined;
    let complete = false;
    if (typeof native === 'string') log.debug(`journal files read by journalctl: ${native}`);
    else {
      const catchUp = new CatchUp(native);
      try {
        for (let entry = catchUp.next(); entry !== undefined; entry = catchUp.next()) {
          const pending = onEntry(entry, ++read);
          if (pending !== undefined) await pending;
          lastCursor = entry.__CURSOR as string | undefined;
        }
      } finally {
        native.close();
      }
      complete = catchUp.stopped === undefined;
      if (!complete) log.warn(`reading the journal files in-process stopped (${catchUp.stopped}): journalctl reads on after the last entry`);
    }
    if (!complete && (read === 0 || lastCursor !== undefined)) {
      // a damaged file may defeat journalctl's seek too: it then starts earlier and skips (hand-over.ts)
      const start = lastCursor === undefined ? undefined : await handOverAfter(journalctlCommand, lastCursor, journalctlArgs);
      const skip = start !== undefined && 'skipThrough' in start ? new SkipThrough(start.skipThrough) : undefined;
      if (start !== undefined && !('after' in start)) log.warn(`journalctl finds nothing after ${lastCursor} by cursor: it reads ${'since' in start ? `since ${start.since}` : 'from the head'} and the entries up to that one are skipped`);
      let ordinal = read;
      await forEachExportEntry(spawnJournalctl(start === undefined || 'head' in start ? undefined : start), decode, (entry) => {
        if (skip !== undefined && !skip.passes(entry.__CURSOR)) return;
        return onEntry(entry, ++ordinal);
      }, wanted);
    }
  } finally {
    const journalctl = child as ChildProcess | undefined;
    if (journalctl && journalctl.exitCode === null) journalctl.kill();
  }
}
