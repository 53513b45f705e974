import type { CommandRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';

export interface QueuedCommand {
  argv: readonly string[];
  /** A command whose failure is expected and harmless (deleting an element that already timed out). */
  mayFail?: boolean;
}

export interface BanQueueOptions {
  /** Commands running at once; past this the caller gets a Promise to wait on (back-pressure). */
  maxInFlight?: number;
  /** Delays before each retry of a failed command; after the last one the command is given up. */
  retryDelaysMs?: readonly number[];
}

/**
 * Runs the firewall commands of bans: those of one address strictly in order (delete before
 * add), different addresses side by side up to a limit. A failed command is logged with its
 * stderr and retried later, off the reader's path; a newer command for the same address
 * supersedes a pending retry.
 */
export class BanQueue {
  private readonly tails = new Map<string, Promise<void>>();
  /** Pending retry per address: a newer submit for the address cancels it. */
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly waiters: (() => void)[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly retryDelaysMs: readonly number[];
  /** Commands given up after every retry (reported; `bans restore` applies the bans later). */
  givenUp = 0;

  constructor(private readonly runner: CommandRunner, private readonly log: Logger, options: BanQueueOptions = {}) {
    this.maxInFlight = options.maxInFlight ?? 16;
    this.retryDelaysMs = options.retryDelaysMs ?? [1000, 5000, 30000];
  }

  /** Queues the commands of `key`; returns a Promise only when the caller should wait for room. */
  submit(key: string, commands: readonly QueuedCommand[]): Promise<void> | undefined {
    const pendingRetry = this.retries.get(key);
    if (pendingRetry) { clearTimeout(pendingRetry); this.retries.delete(key); }
    this.inFlight++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const job = previous.then(() => this.runAll(key, commands)).finally(() => {
      this.inFlight--;
      if (this.tails.get(key) === job) this.tails.delete(key);
      this.waiters.shift()?.();
    });
    this.tails.set(key, job);
    if (this.inFlight < this.maxInFlight) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Waits for every running command; pending retries are dropped and counted as given up. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
    for (const timer of this.retries.values()) clearTimeout(timer);
    if (this.retries.size > 0) {
      this.log.warn(`bans: ${this.retries.size} failed ban commands will not be retried any more; \`peruse bans restore\` applies their bans`);
      this.givenUp += this.retries.size;
      this.retries.clear();
    }
  }

  private async runAll(key: string, commands: readonly QueuedCommand[]): Promise<void> {
    for (const command of commands) {
      const ok = await this.runOnce(command);
      if (!ok && !command.mayFail) {
        this.retryLater(key, command, 0);
        return;
      }
    }
  }

  private async runOnce(command: QueuedCommand): Promise<boolean> {
    let result;
    try {
      result = await this.runner.run(command.argv);
    } catch (e) {
      // a runner that throws (a user-supplied one, a spawn that cannot start) is a failed command, not a crash
      result = { code: 127, stdout: '', stderr: (e as Error).message ?? String(e) };
    }
    if (result.code === 0) return true;
    const message = `bans: ${JSON.stringify(command.argv)} exited with ${result.code}: ${result.stderr.trim() || '(no stderr)'}`;
    if (command.mayFail) this.log.debug(message);
    else this.log.error(message);
    return false;
  }

  private retryLater(key: string, command: QueuedCommand, attempt: number): void {
    const delay = this.retryDelaysMs[attempt];
    if (delay === undefined) {
      this.givenUp++;
      this.log.error(`bans: gave up ${JSON.stringify(command.argv)} after ${attempt} retries; the ban stays recorded for \`peruse bans restore\``);
      return;
    }
    const timer = setTimeout(() => {
      this.retries.delete(key);
      const previous = this.tails.get(key) ?? Promise.resolve();
      const job = previous.then(async () => {
        if (!(await this.runOnce(command))) this.retryLater(key, command, attempt + 1);
        else this.log.info(`bans: ${JSON.stringify(command.argv)} succeeded on retry ${attempt + 1}`);
      }).finally(() => { if (this.tails.get(key) === job) this.tails.delete(key); });
      this.tails.set(key, job);
    }, delay);
    // retries must not keep a finished process alive
    timer.unref();
    this.retries.set(key, timer);
  }
}
