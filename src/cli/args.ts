import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FileRefusedError } from '../state/safe-file.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export class UsageError extends Error {}

/** node:util parseArgs with errors turned into a usage message (exit 2). */
export function parseCommandArgs<const T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true as const });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function runCommand(help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`peruse: ${e.message}\n\n${help}\n`);
      return 2;
    }
    // a state file that is not a regular file: a clear refusal, not a stack trace
    if (e instanceof FileRefusedError) {
      process.stderr.write(`peruse: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
