import { createReadStream } from 'node:fs';
import { forEachJsonEntry, JsonLineParser } from '../src/journal/json-lines.js';
import type { Entry } from '../src/modules/api.js';
import type { EntryClock } from '../src/cli/services.js';
import type { EntryProcessor } from '../src/workflow/run.js';

/** Entries per batch: small, as the daemon sees them (just parsed, still in the CPU caches). */
export const WORKFLOW_BATCH = 1000;

/**
 * Streams a JSON-lines corpus, parsed and typed as `replay` does (only the `wanted` fields), to
 * `onBatch` in batches of WORKFLOW_BATCH (the last one shorter).
 */
export async function forEachBatch(file: string, decode: (bytes: Uint8Array) => string, wanted: ReadonlySet<string> | undefined,
  onBatch: (batch: Entry[]) => Promise<void>): Promise<void> {
  let batch: Entry[] = [];
  await forEachJsonEntry(createReadStream(file, { highWaterMark: 1 << 20 }), new JsonLineParser(decode, wanted), (entry) => {
    batch.push(entry);
    if (batch.length < WORKFLOW_BATCH) return;
    const full = batch;
    batch = [];
    return onBatch(full);
  }, (error, lineNumber) => { throw new Error(`${file}:${lineNumber}: ${error.message}`); });
  if (batch.length > 0) await onBatch(batch);
}

/** Runs entries through the workflow in order, the clock at each entry's event time. */
export async function runEntries(entries: readonly Entry[], clock: EntryClock, run: EntryProcessor): Promise<void> {
  for (const entry of entries) {
    clock.current = entry.__REALTIME_TIMESTAMP as number;
    const pending = run(entry);
    if (pending) await pending;
  }
}
