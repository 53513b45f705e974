// node dist/bench/step-times.js CORPUS.jsonl [CONFIG]: where the workflow spends its time, per step.
// Each filter and action is wrapped in a timer (about 0.07 µs of its own per call, see the noop rows),
// the corpus runs through the workflow in batches of 1 000 as in `npm run bench` (batches.ts), and the steps are
// listed by total time with their hits and µs per hit. A profiler's samples cannot tell steps apart.
import { performance } from 'node:perf_hooks';
import { EntryClock, makeServices } from '../src/cli/services.js';
import { openConfig } from '../src/cli/setup.js';
import { makeByteDecoder } from '../src/journal/fields.js';
import { createLogger } from '../src/system/log.js';
import { fieldsRead } from '../src/workflow/program.js';
import { createProcessor } from '../src/workflow/run.js';
import { forEachBatch, runEntries } from './batches.js';

const [corpus, config = '/work/shared/corpus/bench-config.json'] = process.argv.slice(2);
if (corpus === undefined) {
  process.stderr.write('usage: node dist/bench/step-times.js CORPUS.jsonl [CONFIG]\n');
  process.exit(2);
}

const log = createLogger({ quiet: true });
const clock = new EntryClock();
const opened = await openConfig(config, makeServices({ log, clock, dryRun: true, persist: false, onEffect: () => {} }));
const program = opened.program;
if (!program) throw new Error(`${config} does not build`);
const spent = new Float64Array(program.size);
for (let i = 0; i < program.size; i++) {
  const filter = program.filters[i];
  const action = program.actions[i];
  if (program.isFilter[i] === 1 && filter) {
    program.filters[i] = { test: (entry) => { const start = performance.now(); try { return filter.test(entry); } finally { spent[i]! += performance.now() - start; } } };
  } else if (action) {
    program.actions[i] = { act: (entry) => { const start = performance.now(); try { return action.act(entry); } finally { spent[i]! += performance.now() - start; } } };
  }
}

const decode = makeByteDecoder(opened.settings.encoding);
const run = createProcessor(program, log);
await forEachBatch(corpus, decode, fieldsRead(program), (batch) => runEntries(batch, clock, run));
for (const instance of program.instances) await instance.stop?.();

const rows = Array.from({ length: program.size }, (_, i) => ({ label: program.labels[i]!, hits: program.hits[i]!, ms: spent[i]! }));
rows.sort((a, b) => b.ms - a.ms);
const lines = rows.map((row) => `${row.ms.toFixed(0).padStart(6)} ${String(row.hits).padStart(10)} ${(row.hits === 0 ? 0 : row.ms * 1000 / row.hits).toFixed(2).padStart(7)}  ${row.label}`);
process.stdout.write(['    ms       hits  µs/hit  step', ...lines, ''].join('\n'));
