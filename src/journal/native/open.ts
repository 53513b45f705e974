import type { JournalSettings } from '../../config/settings.js';
import { journalFilesOf, NativeJournal, NativeUnsupported } from './reader.js';

/** Where a native read starts: the head, right after a cursor, or on a cursor (the first entry journalctl gave for --since). */
export type NativeStart = { head: true } | { after: string } | { at: string };

export interface NativeOpenOptions {
  decode: (bytes: Uint8Array) => string;
  wanted?: ReadonlySet<string>;
}

/** Whether the journal files can be read in-process at all: no journalctl match filter, not opted out. */
export function nativeEligible(journal: JournalSettings): boolean {
  return journal.reader !== 'journalctl' && (journal.matches ?? []).length === 0;
}

/**
 * The journal opened in-process and positioned at `start`, or why not (journalctl then reads it):
 * a file this reader does not understand, or a cursor of another writer than every file's.
 */
export function openNative(journal: JournalSettings, start: NativeStart, options: NativeOpenOptions): NativeJournal | string {
  if (!nativeEligible(journal)) return 'journal selection left to journalctl';
  let opened: NativeJournal;
  try {
    const files = journalFilesOf(journal);
    if (files.length === 0) return 'no journal file yet';
    opened = NativeJournal.open(files, options);
  } catch (error) {
    if (error instanceof NativeUnsupported) return error.message;
    throw error;
  }
  if ('head' in start) opened.seekHead();
  else if (!opened.seekAfterCursor('after' in start ? start.after : start.at, 'at' in start)) {
    opened.close();
    return 'the journal files come from several writers: journalctl seeks the cursor';
  }
  return opened;
}
