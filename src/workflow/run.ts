import type { Entry } from '../modules/api.js';
import type { Logger } from '../system/log.js';
import { END, type Program } from './program.js';

export type EntryProcessor = (entry: Entry) => void | Promise<void>;

/** Logs a module error with its step label: the first ones, then one in a thousand (a broken step must not flood). */
export function reportStepError(program: Program, log: Logger, step: number, error: unknown, what: string): void {
  const count = ++program.errors[step]!;
  if (count <= 10 || count % 1000 === 0) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`${program.labels[step]}: ${what} failed (${count} so far): ${message}`);
  }
}

/**
 * The hot loop. Allocates nothing per entry; returns a Promise only when an action does, so the
 * caller pauses its reader exactly then (back-pressure with the entry order kept).
 */
export function createProcessor(program: Program, log: Logger): EntryProcessor {
  const { isFilter, filters, actions, next, alt, hits, passes } = program;

  const runFrom = (start: number, entry: Entry): void | Promise<void> => {
    let i = start;
    while (i !== END) {
      hits[i]!++;
      if (isFilter[i] === 1) {
        let passed = false;
        try {
          passed = filters[i]!.test(entry) === true;
        } catch (error) {
          reportStepError(program, log, i, error, 'filter');
        }
        if (passed) { passes[i]!++; i = next[i]!; } else i = alt[i]!;
        continue;
      }
      let result: void | Promise<void>;
      try {
        result = actions[i]!.act(entry);
      } catch (error) {
        reportStepError(program, log, i, error, 'action');
        return;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        const step = i;
        return (result as Promise<void>).then(
          () => runFrom(next[step]!, entry),
          (error) => reportStepError(program, log, step, error, 'action'),
        );
      }
      i = next[i]!;
    }
  };

  return (entry) => runFrom(program.entry, entry);
}
