import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
// child_process (and the socket code it pulls in) loads with the first command: `check` runs none
const childProcess = (): typeof import('node:child_process') => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the command outlived its deadline and its process group was killed. */
  timedOut?: boolean;
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

/** Exit code of a command killed at its deadline (as timeout(1) reports it). */
export const TIMED_OUT_CODE = 124;
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** How long the pipes may stay open after the command exited. */
const PIPE_GRACE_MS = 1000;

/** Commands running now (their process group ids), so a stopping process leaves none behind. */
const running = new Set<ChildProcess>();

/**
 * SIGKILL to the command's whole process group: a command that ignores SIGTERM, or left a child
 * holding its pipes, would otherwise be waited on for ever.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

/** Kills every command still running (daemon stop, replay end); returns how many there were. */
export function killRunningCommands(): number {
  const count = running.size;
  for (const child of running) {
    killGroup(child);
    // a child that left its group (setsid) may still hold the pipes: stop waiting for them
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  return count;
}

/**
 * Runs each command in its own process group (detached) with a deadline: past it, or when it
 * exited but something it started still holds its pipes, the whole group is SIGKILLed and the
 * result says so (code 124, `timedOut`), for the caller to log and retry.
 */
export const spawnRunner: CommandRunner = {
  run(argv, options = {}) {
    return new Promise((resolve) => {
      const [file, ...args] = argv;
      if (!file) { resolve({ code: 127, stdout: '', stderr: 'empty command' }); return; }
      const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      const child = childProcess().spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      const finish = (result: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(grace);
        running.delete(child);
        resolve(result);
      };
      // the group is killed, the pipes dropped and what was read returned
      const cut = (why: string, code: number) => {
        // once settled, the pid may belong to someone else
        if (settled) return;
        killGroup(child);
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: `${Buffer.concat(err).toString('utf8')}${why}`, timedOut: true });
      };
      const deadline = setTimeout(() => cut(`still running after ${timeoutMs / 1000} s: its process group was killed`, TIMED_OUT_CODE), timeoutMs);
      child.on('exit', (code) => {
        // something it started holds its output: the command itself is done, its exit code stands
        grace = setTimeout(() => cut(`exited with ${code ?? 'a signal'}, but a process it started still held its output: its process group was killed`,
          code ?? 128), PIPE_GRACE_MS);
      });
      if (child.pid !== undefined) running.add(child);
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => finish({ code: 127, stdout: '', stderr: String(e.message) }));
      child.on('close', (code, signal) => finish({
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
