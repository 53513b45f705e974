import { createRequire } from 'node:module';
// child_process (and the socket code it pulls in) loads with the first command: `check` runs none
const childProcess = (): typeof import('node:child_process') => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv arrays, never through a shell. */
export interface CommandRunner {
  /**
   * Commands finish at once and always succeed (dry-run descriptions, recorders): callers need not
   * queue or merge them, and each belongs to the entry that caused it.
   */
  readonly immediate?: boolean;
  run(argv: readonly string[], options?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<CommandResult>;
}

export const spawnRunner: CommandRunner = {
  run(argv, options = {}) {
    return new Promise((resolve) => {
      const [file, ...args] = argv;
      if (!file) { resolve({ code: 127, stdout: '', stderr: 'empty command' }); return; }
      const child = childProcess().spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 30_000 });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: String(e.message) }));
      child.on('close', (code, signal) => resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `killed by ${signal}` : ''),
      }));
      child.stdin.on('error', () => { /* the command may exit without reading stdin */ });
      child.stdin.end(options.stdin ?? '');
    });
  },
};

/** Records commands instead of running them (dry-run and unit tests). */
export function recordingRunner(onCommand?: (argv: readonly string[], stdin?: string | Buffer) => void):
  CommandRunner & { calls: { argv: string[]; stdin?: string | Buffer }[] } {
  const calls: { argv: string[]; stdin?: string | Buffer }[] = [];
  return {
    calls,
    immediate: true,
    async run(argv, options = {}) {
      calls.push({ argv: [...argv], stdin: options.stdin });
      onCommand?.(argv, options.stdin);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}

/** Describes commands instead of running them, keeping nothing (dry-run over millions of entries). */
export function describingRunner(onCommand: (argv: readonly string[], stdin?: string | Buffer) => void): CommandRunner {
  return {
    immediate: true,
    run(argv, options) {
      onCommand(argv, options?.stdin);
      return DESCRIBED;
    },
  };
}

// one settled result for every described command: a replay describes millions
const DESCRIBED: Promise<CommandResult> = Promise.resolve(Object.freeze({ code: 0, stdout: '', stderr: '' }));
