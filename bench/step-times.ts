// node dist/bench/step-times.js CORPUS.jsonl [CONFIG]: where the workflow spends its time, per step.
// Each filter and action is wrapped in a timer (about 0.07 µs of its own per call, see the noop rows),
// the corpus runs through the workflow in batches of 1 000 as in `npm run bench` (batches.ts), and the steps are
// listed by total time with their hits and µs per hit. A profiler's samples cannot tell steps apart.
import { performance } from 'node:perf_hooks';
import type { Program } from '../src/workflow/program.js';
import { workflowRate } from './batches.js';

const [corpus, config = '/work/shared/corpus/bench-config.json'] = process.argv.slice(2);
if (corpus === undefined) {
  process.stderr.write('usage: node dist/bench/step-times.js CORPUS.jsonl [CONFIG]\n');
  process.exit(2);
}

let spent = new Float64Array(0);

function timeEachStep(program: Program): void {
  spent = new Float64Array(program.size);
  for (let i = 0; i < program.size; i++) {
    const filter = program.filters[i];
    const action = program.actions[i];
    if (program.isFilter[i] === 1 && filter) {
      program.filters[i] = { test: (entry) => { const start = performance.now(); try { return filter.test(entry); } finally { spent[i]! += performance.now() - start; } } };
    } else if (action) {
      program.actions[i] = { act: (entry) => { const start = performance.now(); try { return action.act(entry); } finally { spent[i]! += performance.now() - start; } } };
    }
  }
}

function printSteps(program: Program): void {
  const rows = Array.from({ length: program.size }, (_, i) => ({ label: program.labels[i]!, hits: program.hits[i]!, ms: spent[i]! }));
  rows.sort((a, b) => b.ms - a.ms);
  const lines = rows.map((row) => `${row.ms.toFixed(0).padStart(6)} ${String(row.hits).padStart(10)} ${(row.hits === 0 ? 0 : row.ms * 1000 / row.hits).toFixed(2).padStart(7)}  ${row.label}`);
  process.stdout.write(['    ms       hits  µs/hit  step', ...lines, ''].join('\n'));
}

await workflowRate(config, corpus, { prepare: timeEachStep, after: printSteps });
