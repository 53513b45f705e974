import type { Entry } from '../modules/api.js';
import type { Logger } from '../system/log.js';
import { END, type Program } from './program.js';
import { reportStepError } from './run.js';

export interface TraceStep {
  step: string;
  /** Filters: true/false; actions: "done"; either: "error". */
  result: boolean | 'done' | 'error';
}

/** Walks one entry like the hot loop does, recording each step visited. Separate so the hot loop stays lean. */
export async function traceEntry(program: Program, log: Logger, entry: Entry): Promise<TraceStep[]> {
  const path: TraceStep[] = [];
  let i = program.entry;
  while (i !== END) {
    program.hits[i]!++;
    const label = program.labels[i]!;
    if (program.isFilter[i] === 1) {
      let passed: boolean;
      try {
        passed = program.filters[i]!.test(entry) === true;
        path.push({ step: label, result: passed });
      } catch (error) {
        reportStepError(program, log, i, error, 'filter');
        path.push({ step: label, result: 'error' });
        passed = false;
      }
      if (passed) { program.passes[i]!++; i = program.next[i]!; } else i = program.alt[i]!;
      continue;
    }
    try {
      await program.actions[i]!.act(entry);
      path.push({ step: label, result: 'done' });
    } catch (error) {
      reportStepError(program, log, i, error, 'action');
      path.push({ step: label, result: 'error' });
      break;
    }
    i = program.next[i]!;
  }
  return path;
}
