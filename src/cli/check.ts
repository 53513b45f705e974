import type { ConfigIssue } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import type { Settings } from '../config/settings.js';
import type { Services } from '../config/build.js';
import type { NamedSet } from '../net/firewall-setup.js';
import { spawnRunner } from '../system/exec.js';
import { createLogger } from '../system/log.js';
import { parseCommandArgs, runCommand } from './args.js';
import { makeServices, wallClock } from './services.js';
import { configPath, EXIT_CONFIG, openConfig, printIssues } from './setup.js';

const HELP = `usage: peruse check [--config FILE] [FILE]

Validates the config (schema of every step, regexes, networks, templates, chain links).
Prints every problem as FILE:LINE:COL  PATH  CODE  message; exits 0 (warnings only) or 78.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const started = process.hrtime.bigint();
    const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const file = configPath(values.config ?? positionals[0]);
    const log = createLogger({ quiet: true });
    const factory = makeServices({ log, clock: wallClock, dryRun: true, persist: false });
    let services: Services | undefined;
    const opened = await openConfig(file, (settings) => (services = factory(settings)));
    // the sets the built ban steps recorded too: those of included rules, parameters resolved
    if (opened.program && services) opened.issues.push(...await missingSetWarnings(file, opened.settings, services.state));
    printIssues(opened);
    const errors = opened.issues.filter((i) => i.severity === 'error').length;
    const warnings = opened.issues.length - errors;
    if (errors > 0) {
      process.stderr.write(`${file}: ${errors} error(s), ${warnings} warning(s)\n`);
      return EXIT_CONFIG;
    }
    const steps = opened.program?.size ?? 0;
    process.stdout.write(`${file}: OK, ${opened.topLevel.length} top-level chains, ${steps} linked steps, ${warnings} warning(s) (${Math.round(Number(process.hrtime.bigint() - started) / 1e6)} ms)\n`);
    return 0;
  });
}

/**
 * With `firewall.manage: false` the admin makes the sets: one a ban step names that does not exist
 * would make every ban fail. Only root can list them (nft and ipset need CAP_NET_ADMIN to look).
 */
async function missingSetWarnings(file: string, settings: Settings, state: Services['state']): Promise<ConfigIssue[]> {
  if (process.getuid?.() !== 0) return [];
  // loaded only here: a check that cannot look at the firewall does not pay for the set-up code
  const { missingUnmanagedSets, recordedSets } = await import('../net/firewall-setup.js');
  const missing = await missingUnmanagedSets(settings, spawnRunner, recordedSets(state));
  if (missing.length === 0) return [];
  const { config } = loadConfigFile(file);
  return missing.map((named: NamedSet) => {
    const at = named.path ?? [];
    const offset = config?.locate(at);
    return {
      severity: 'warning' as const, code: 'W_SET_MISSING' as const, path: at, offset,
      ...(offset === undefined ? {} : config!.position(offset)),
      message: `${named.backend} set "${named.set}" does not exist and peruse does not manage the firewall (firewall.manage is false): every ban into it will fail`,
    };
  });
}
