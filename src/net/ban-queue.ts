import { banKey } from '../state/bans.js';
import type { CommandRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import type { BanBackend, BackendCommand } from './ban-commands.js';

/** One ban to apply: `replace` when the address may still be in the set (delete it first). */
export interface BanRequest {
  set: string;
  ip: string;
  seconds: number | undefined;
  replace: boolean;
}

export interface BanQueueOptions {
  /** Most elements in one command (nft: one argv string, kept far below Linux's 128 KiB per argument). */
  maxBatch?: number;
  /** Bans waiting for the firewall; past this the caller gets a Promise to wait on (back-pressure). */
  maxPending?: number;
  /** Delays before each retry of a failed add; after the last one it is given up. */
  retryDelaysMs?: readonly number[];
  /** Deadline of one firewall command; past it its process group is killed and its bans retried. */
  commandTimeoutMs?: number;
}

interface PendingAdd { seconds: number | undefined; attempt: number }
interface PendingSet { deletes: Set<string>; adds: Map<string, PendingAdd> }
interface Element { ip: string; seconds: number | undefined; attempt: number }

export const DEFAULT_MAX_BATCH = 500;

/**
 * Runs the firewall commands of bans, one command at a time per backend. On a quiet system a ban
 * runs at once as Pyruse's commands (delete if still banned, then add). Bans that arrive while a
 * command runs wait, and then go together: one delete and one add per set for all of them, so an
 * attack costs a few firewall commands per second instead of one process per attacker (nft takes
 * 15–50 ms per call; one per ban falls behind a few thousand attackers).
 *
 * The commands of one address keep their order (its delete before its add); a failed add is
 * logged with its stderr and retried later, off the reader's path, unless a newer ban of the
 * same address came in the meantime.
 */
export class BanQueue {
  private pending = new Map<string, PendingSet>();
  private pendingCount = 0;
  private pumping: Promise<void> | undefined;
  private readonly waiters: (() => void)[] = [];
  /** Addresses whose add failed and waits for a retry, with the retry that owns them. */
  private readonly retryOwner = new Map<string, object>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly retryDelaysMs: readonly number[];
  private readonly commandTimeoutMs: number | undefined;
  /** Bans given up after every retry (reported; `bans restore` applies them later). */
  givenUp = 0;
  /** Firewall commands run (merged ones count once). */
  commandsRun = 0;

  constructor(private readonly backend: BanBackend, private readonly command: readonly string[],
    private readonly runner: CommandRunner, private readonly log: Logger, options: BanQueueOptions = {}) {
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.maxPending = options.maxPending ?? this.maxBatch * 10;
    this.retryDelaysMs = options.retryDelaysMs ?? [1000, 5000, 30000];
    this.commandTimeoutMs = options.commandTimeoutMs;
  }

  /** Queues a ban; returns a Promise only when the caller should wait for room. */
  submit(request: BanRequest): Promise<void> | undefined {
    // a newer ban of the address supersedes its pending retry
    if (this.retryOwner.size > 0) this.retryOwner.delete(banKey(request.set, request.ip));
    if (this.runner.immediate) {
      // dry-run: describe each ban as it comes, so the description belongs to its own entry
      if (request.replace) this.runNow(this.backend.deleteArgs(request.set, request.ip));
      this.runNow(this.backend.addArgs(request.set, request.ip, request.seconds));
      return undefined;
    }
    this.enqueue(request.set, request.ip, request.replace, request.seconds, 0);
    this.kick();
    if (this.pendingCount < this.maxPending) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Queues an unban (a LAPI decision deleted): a pending add of the address is dropped, its element deleted. */
  unban(set: string, ip: string): void {
    this.retryOwner.delete(banKey(set, ip));
    if (this.runner.immediate) {
      this.runNow(this.backend.deleteArgs(set, ip));
      return;
    }
    let pending = this.pending.get(set);
    if (!pending) this.pending.set(set, (pending = { deletes: new Set(), adds: new Map() }));
    if (pending.adds.delete(ip)) this.pendingCount--;
    pending.deletes.add(ip);
    this.kick();
  }

  /** Waits for every queued command; pending retries are dropped and counted as given up. */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    if (this.retryOwner.size > 0) {
      this.log.warn(`bans: ${this.retryOwner.size} failed bans will not be retried any more; \`peruse bans restore\` applies them`);
      this.givenUp += this.retryOwner.size;
      this.retryOwner.clear();
    }
  }

  private enqueue(set: string, ip: string, replace: boolean, seconds: number | undefined, attempt: number): void {
    let pending = this.pending.get(set);
    if (!pending) this.pending.set(set, (pending = { deletes: new Set(), adds: new Map() }));
    // an add still waiting has not reached the kernel: the later ban only changes its timeout
    if (replace && !pending.adds.has(ip)) pending.deletes.add(ip);
    if (!pending.adds.has(ip)) this.pendingCount++;
    pending.adds.set(ip, { seconds, attempt });
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.pending.size > 0) this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      this.pendingCount = 0;
      for (const release of this.waiters.splice(0)) release();
      for (const [set, { deletes, adds }] of batch) {
        for (const ips of chunks([...deletes], this.maxBatch)) await this.runDeletes(set, ips);
        const elements = [...adds].map(([ip, add]) => ({ ip, ...add }));
        for (const group of chunks(elements, this.maxBatch)) await this.runAdds(set, group);
      }
    }
  }

  private async runDeletes(set: string, ips: string[]): Promise<void> {
    if (await this.runOnce(this.backend.deleteMany(set, ips), true)) return;
    // one address already gone (timed out) fails the whole nft transaction: the others still need deleting
    if (ips.length > 1) for (const ip of ips) await this.runOnce(this.backend.deleteMany(set, [ip]), true);
  }

  private async runAdds(set: string, elements: Element[]): Promise<void> {
    if (await this.runOnce(this.backend.addMany(set, elements), false)) {
      const retried = elements.filter((e) => e.attempt > 0).length;
      if (retried > 0) this.log.info(`bans: ${retried} ban(s) of ${set} applied on retry`);
      return;
    }
    this.retryLater(set, elements);
  }

  private retryLater(set: string, elements: Element[]): void {
    const owner = {};
    const byDelay = new Map<number, Element[]>();
    for (const element of elements) {
      const key = banKey(set, element.ip);
      // a newer ban of the address came while this one ran: it supersedes the retry
      if (this.pending.get(set)?.adds.has(element.ip)) continue;
      const delay = this.retryDelaysMs[element.attempt];
      if (delay === undefined) {
        this.givenUp++;
        this.retryOwner.delete(key);
        this.log.error(`bans: gave up banning ${element.ip} in ${set} after ${element.attempt} retries; the ban stays recorded for \`peruse bans restore\``);
        continue;
      }
      this.retryOwner.set(key, owner);
      let group = byDelay.get(delay);
      if (!group) byDelay.set(delay, (group = []));
      group.push(element);
    }
    for (const [delay, group] of byDelay) {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        for (const element of group) {
          const key = banKey(set, element.ip);
          if (this.retryOwner.get(key) !== owner) continue; // superseded by a newer ban
          this.retryOwner.delete(key);
          this.enqueue(set, element.ip, false, element.seconds, element.attempt + 1);
        }
        if (this.pendingCount > 0) this.kick();
      }, delay);
      // retries must not keep a finished process alive
      timer.unref();
      this.retryTimers.add(timer);
    }
  }

  /** An immediate runner's command: it cannot fail or wait, so nothing is awaited (millions in a replay). */
  private runNow(args: readonly string[]): void {
    this.commandsRun++;
    void this.runner.run([...this.command, ...args]);
  }

  private async runOnce(command: BackendCommand, mayFail: boolean): Promise<boolean> {
    const argv = [...this.command, ...command.args];
    this.commandsRun++;
    let result;
    try {
      result = await this.runner.run(argv, { stdin: command.stdin, timeoutMs: this.commandTimeoutMs });
    } catch (e) {
      // a runner that throws (a user-supplied one, a spawn that cannot start) is a failed command, not a crash
      result = { code: 127, stdout: '', stderr: (e as Error).message ?? String(e) };
    }
    if (result.code === 0) return true;
    const shown = JSON.stringify(argv);
    const message = `bans: ${shown.length > 300 ? `${shown.slice(0, 300)}…` : shown}${command.stdin ? ` (${command.stdin.split('\n').length - 1} lines on stdin)` : ''} exited with ${result.code}: ${result.stderr.trim() || '(no stderr)'}`;
    // a hung firewall is never routine, even for a delete that may fail
    if (mayFail && result.timedOut !== true) this.log.debug(message);
    else this.log.error(message);
    return false;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
