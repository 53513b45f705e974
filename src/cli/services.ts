import type { Services } from '../config/build.js';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../modules/api.js';
import { State } from '../state/state.js';
import { describingRunner, spawnRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import type { Mailer } from '../system/mailer-api.js';
import { createMailer } from '../system/mailer.js';

/** A clock that reads the time of the entry being processed (replay: as if live then). */
export class EntryClock implements Clock {
  current = Date.now() * 1000;
  nowMicros(): number {
    return this.current;
  }
}

export const wallClock: Clock = { nowMicros: () => Date.now() * 1000 };

export interface ServiceOptions {
  log: Logger;
  clock: Clock;
  dryRun: boolean;
  persist: boolean;
  /** Dry-run: where a side effect is described instead of done. */
  onEffect?: (description: string) => void;
}

/** The composition of services handed to modules. */
export function makeServices(options: ServiceOptions): (settings: Settings) => Services {
  return (settings) => {
    const effect = options.onEffect ?? (() => {});
    const exec = options.dryRun
      ? describingRunner((argv, stdin) => effect(`would run: ${JSON.stringify(argv)}${stdin ? ` with ${String(stdin).length} bytes on stdin` : ''}`))
      : spawnRunner;
    const mailer: Mailer = options.dryRun
      ? { async send(m) { effect(`would email: ${JSON.stringify({ subject: m.subject, text: m.text })}`); } }
      : createMailer(settings, options.log);
    return {
      state: new State({ storage: settings.storage, persist: options.persist }),
      clock: options.clock,
      log: options.log,
      exec,
      mailer,
      dryRun: options.dryRun,
      effect: options.dryRun ? effect : undefined,
    };
  };
}
