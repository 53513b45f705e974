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
    const opened = await openConfig(file, makeServices({ log, clock: wallClock, dryRun: true, persist: false }));
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
