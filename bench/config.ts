// Config compile time: load, validate, build every step and link the chains of a config with N
// chains, as `check`, `run` and a SIGHUP reload do. It must grow linearly with N.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeServices, wallClock } from '../src/cli/services.js';
import { openConfig } from '../src/cli/setup.js';
import { createLogger } from '../src/system/log.js';

/**
 * N chains in pairs: a service chain (two filters, the second jumping) and the jump chain it calls.
 * Every 10th jump chain is declared above its caller (runs top-level too, W_JUMP_CHAIN_ABOVE).
 */
export function manyChainsConfig(chains: number, storage: string): object {
  const actions: Record<string, object[]> = {};
  for (let pair = 0; pair < chains / 2; pair++) {
    const service = `service ${pair}`, ban = `ban ${pair}`;
    const serviceChain = [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: `svc${pair}` } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: `^failure ${pair} from (?P<thatIP>\\S+)$` }, then: ban },
    ];
    const banChain = [
      { action: 'action_counterRaise', args: { counter: `svc${pair}`, for: 'thatIP', keepSeconds: 600, save: 'count' } },
      { action: 'action_noop' },
    ];
    if (pair % 10 === 0) { actions[ban] = banChain; actions[service] = serviceChain; }
    else { actions[service] = serviceChain; actions[ban] = banChain; }
  }
  return { actions, storage };
}

/** Seconds to open (load, validate, build, link) a config of `chains` chains: best of `runs`. */
export async function configCompileSeconds(chains: number, dir: string, runs = 3): Promise<{ seconds: number; steps: number }> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `chains-${chains}.json`);
  writeFileSync(file, JSON.stringify(manyChainsConfig(chains, dir), null, 1));
  const log = createLogger({ quiet: true });
  let best = Infinity, steps = 0;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const opened = await openConfig(file, makeServices({ log, clock: wallClock, dryRun: true, persist: false }));
    best = Math.min(best, (performance.now() - started) / 1000);
    if (!opened.program) throw new Error(`bench config of ${chains} chains does not compile: ${opened.issues[0]?.message}`);
    steps = opened.program.size;
  }
  return { seconds: best, steps };
}
