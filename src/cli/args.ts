import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    throw e;
  }
}
