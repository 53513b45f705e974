import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import type { State } from './state.js';

/** What is saved together so a restart neither forgets nor double-counts: the cursor and the state it covers. */
export interface Checkpoint {
  version: 1;
  /** `__CURSOR` of the last entry fully processed. */
  cursor?: string;
  /** Event time (µs) of that entry. */
  eventTime?: number;
  savedAt: number;
  state: Record<string, unknown>;
}

export function checkpointFile(storage: string): string {
  return path.join(storage, 'peruse.state.json');
}

export function saveCheckpoint(state: State, cursor: string | undefined, eventTime: number | undefined): void {
  if (!state.options.persist) return;
  // what the entries up to the cursor decided (bans) is on disk before the cursor says they are done
  state.makeDurable();
  const checkpoint: Checkpoint = { version: 1, cursor, eventTime, savedAt: Date.now(), state: state.snapshot() };
  writeFileAtomic(checkpointFile(state.options.storage), JSON.stringify(checkpoint));
}

/** Restores the state parts and returns the checkpoint (undefined when none was saved yet). */
export function loadCheckpoint(state: State, nowMicros: number): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(checkpointFile(state.options.storage), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const checkpoint = JSON.parse(text) as Checkpoint;
  if (checkpoint.version !== 1) throw new Error(`${checkpointFile(state.options.storage)}: unknown checkpoint version ${String(checkpoint.version)}`);
  state.restore(checkpoint.state ?? {}, nowMicros);
  return checkpoint;
}
