import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { EntryClock, makeServices } from '../src/cli/services.js';
import { openConfig } from '../src/cli/setup.js';
import { makeByteDecoder } from '../src/journal/fields.js';
import { forEachJsonEntry, JsonLineParser } from '../src/journal/json-lines.js';
import type { Entry } from '../src/modules/api.js';
import type { State } from '../src/state/state.js';
import { createLogger } from '../src/system/log.js';
import { fieldsRead, type Program } from '../src/workflow/program.js';
import { createProcessor, type EntryProcessor } from '../src/workflow/run.js';

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

/** Untimed additions to a workflow-alone run: change its steps (the state they share at hand), look at each batch, read the step counts. */
export interface WorkflowHooks {
  prepare?: (program: Program, state: State) => void;
  beforeBatch?: (batch: Entry[]) => void;
  after?: (program: Program) => void;
}

/**
 * The workflow of `config` alone over a JSON-lines corpus, in entries/s (dry-run, nothing
 * persisted): the file is streamed and parsed in batches of WORKFLOW_BATCH (untimed), then each
 * batch is timed through the workflow. Small streamed batches, as the daemon sees its entries:
 * just parsed, still in the CPU caches (batches of 50 000 made every entry a cache miss, 20–25 %
 * slower), and not the whole corpus in memory (a gigabyte of live lines would make every major GC
 * walk memory the daemon never holds).
 */
export async function workflowRate(config: string, file: string, hooks: WorkflowHooks = {}): Promise<number> {
  const log = createLogger({ quiet: true });
  const clock = new EntryClock();
  const services = makeServices({ log, clock, dryRun: true, persist: false, onEffect: () => {} });
  let state: State | undefined;
  const opened = await openConfig(config, (settings) => { const made = services(settings); state = made.state; return made; });
  if (!opened.program || !state) throw new Error(`${config} does not build`);
  const program = opened.program;
  hooks.prepare?.(program, state);
  const run = createProcessor(program, log);
  let elapsed = 0;
  let count = 0;
  await forEachBatch(file, makeByteDecoder(opened.settings.encoding), fieldsRead(program), async (batch) => {
    hooks.beforeBatch?.(batch);
    const started = performance.now();
    await runEntries(batch, clock, run);
    elapsed += performance.now() - started;
    count += batch.length;
  });
  for (const instance of program.instances) await instance.stop?.();
  hooks.after?.(program);
  return Math.round(count / (elapsed / 1000));
}
