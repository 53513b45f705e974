import { linkSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../system/log.js';
import { writeFileAtomic } from './atomic.js';
import { moveAside, readRegularFile } from './safe-file.js';
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

/** The checkpoint before the current one: where a start resumes when the current one is damaged. */
export function previousCheckpointFile(storage: string): string {
  return path.join(storage, 'peruse.state.prev.json');
}

/** The current checkpoint becomes the previous one (a hard link, swapped in atomically); best effort. */
function keepPrevious(storage: string): void {
  const tmp = path.join(storage, `.peruse.state.prev.json.${process.pid}.tmp`);
  try {
    rmSync(tmp, { force: true });
    linkSync(checkpointFile(storage), tmp);
    renameSync(tmp, previousCheckpointFile(storage));
  } catch {
    // no checkpoint yet, or a filesystem without hard links: only the current one is kept
  }
}

export function saveCheckpoint(state: State, cursor: string | undefined, eventTime: number | undefined): void {
  if (!state.options.persist) return;
  // what the entries up to the cursor decided (bans) is on disk before the cursor says they are done
  state.makeDurable();
  const checkpoint: Checkpoint = { version: 1, cursor, eventTime, savedAt: Date.now(), state: state.snapshot() };
  keepPrevious(state.options.storage);
  writeFileAtomic(checkpointFile(state.options.storage), JSON.stringify(checkpoint));
}

/** Why `data` is not a checkpoint this version wrote, or undefined when it is one. */
function checkpointProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const c = data as Partial<Checkpoint>;
  if (c.version !== 1) return `unknown version ${JSON.stringify(c.version) ?? 'undefined'}`;
  if (c.cursor !== undefined && typeof c.cursor !== 'string') return 'its cursor is not a string';
  if (c.eventTime !== undefined && !Number.isFinite(c.eventTime)) return 'its eventTime is not a number';
  if (c.state !== undefined && (typeof c.state !== 'object' || c.state === null || Array.isArray(c.state))) return 'its state is not an object';
  return undefined;
}

/** The checkpoint in `text`, or why it is not one. */
function parseCheckpoint(text: string): { checkpoint: Checkpoint } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { problem: text.length === 0 ? 'empty file' : (e as Error).message };
  }
  const problem = checkpointProblem(data);
  return problem ? { problem } : { checkpoint: data as Checkpoint };
}

/** Restores `checkpoint` into `state`; the reason when its state parts could not be read. */
function restoreFrom(state: State, checkpoint: Checkpoint, nowMicros: number | undefined): string | undefined {
  try {
    // what expired is judged as of the last processed entry: a backlog read after downtime
    // decides exactly as live processing would have
    state.restore(checkpoint.state ?? {}, nowMicros ?? checkpoint.eventTime ?? Date.now() * 1000);
    return undefined;
  } catch (e) {
    return `its state cannot be restored: ${(e as Error).message}`;
  }
}

/**
 * The daemon's start: reads the checkpoint and restores the state as of its entry's event time.
 * An empty, truncated or garbage file (a crash mid-write without ordered data, a full disk) must
 * not stop the daemon: it is moved aside as `.corrupt-<time>`, said loudly, and peruse resumes
 * from the previous checkpoint (kept at each save), else starts as without a checkpoint.
 * Anything but a regular file is refused (FileRefusedError): never blocks.
 * `nowMicros` (what has expired is judged at) defaults to the checkpoint's event time.
 */
export function resumeFromCheckpoint(state: State, log: Logger, nowMicros?: number): Checkpoint | undefined {
  const storage = state.options.storage;
  const file = checkpointFile(storage);
  const text = readRegularFile(file, 'the checkpoint');
  if (text === undefined) return undefined;
  const parsed = parseCheckpoint(text);
  const problem = 'problem' in parsed ? parsed.problem : restoreFrom(state, parsed.checkpoint, nowMicros);
  if (problem === undefined && 'checkpoint' in parsed) return parsed.checkpoint;

  let kept: string;
  try {
    kept = `kept as ${moveAside(file)}`;
  } catch (e) {
    kept = `it could not be moved aside (${(e as Error).message})`;
  }
  const previous = previousUsable(state, nowMicros);
  if (previous) {
    log.error(`CHECKPOINT DAMAGED: ${file} is unusable (${problem}); ${kept}. Resuming from the previous checkpoint, saved ${new Date(previous.savedAt).toISOString()}: the entries after it are processed again; the bans are restored from their store`);
    return previous;
  }
  log.error(`CHECKPOINT DAMAGED: ${file} is unusable (${problem}); ${kept}. Counters and DNAT mappings start empty and the journal is read as on a first start; the bans are restored from their store`);
  return undefined;
}

/** The previous checkpoint restored into `state`, when there is a good one. */
function previousUsable(state: State, nowMicros: number | undefined): Checkpoint | undefined {
  let text: string | undefined;
  try {
    text = readRegularFile(previousCheckpointFile(state.options.storage), 'the previous checkpoint');
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const parsed = parseCheckpoint(text);
  if (!('checkpoint' in parsed) || restoreFrom(state, parsed.checkpoint, nowMicros) !== undefined) return undefined;
  return parsed.checkpoint;
}
