import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
// child_process (and the socket code it pulls in) loads with the first command: `check` runs none
const childProcess = (): typeof import('node:child_process') => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

/** Syslog severities, in PRIORITY order (EMERG = 0 … DEBUG = 7). */
export const SYSLOG_LEVELS = ['EMERG', 'ALERT', 'CRIT', 'ERR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'] as const;
export type SyslogLevel = (typeof SYSLOG_LEVELS)[number];

/** argv of the long-lived writer for one priority; the message lines arrive on its stdin. */
export type WriterCommand = (priority: number) => string[];

export const systemdCat: WriterCommand = (priority) =>
  // --level-prefix=false: a message starting with "<3>" must not change its own priority
  ['systemd-cat', '-t', 'peruse', '-p', String(priority), '--level-prefix=false'];

const RESPAWN_PAUSE_MS = 1000;

/**
 * How many action_log hops a line may descend from: a line written because of a line peruse wrote
 * is one generation more. Stacked recidive levels (ban → recidive ban → permanent ban) need a few;
 * a chain that matches its own output would otherwise write for ever.
 */
export const MAX_GENERATIONS = 8;
/** Written lines remembered until they are read back (bounded: a line nobody reads is forgotten). */
const MAX_PENDING = 4096;
/**
 * Backstop for a loop whose lines are not recognised when read back (journald split or changed
 * them): lines caused by peruse lines, per second. Recidive chains write far fewer (one per ban).
 */
const MAX_FEEDBACK_PER_SECOND = 1000;

/** Why a line was not written. */
export type WriteResult = 'written' | 'dropped' | 'loop';

interface Writer {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Writes journal entries with SYSLOG_IDENTIFIER=peruse and a given PRIORITY, through one
 * long-lived `systemd-cat` per priority (spawned on first use): never one process per line.
 * A writer that dies is respawned on the next line, at most once a second.
 */
export class JournalWriter {
  private readonly writers = new Map<number, Writer>();
  private readonly lastSpawn = new Map<number, number>();
  /** Lines dropped because a writer could not be (re)started; logged by the caller. */
  dropped = 0;
  /** Lines not written because they descend from MAX_GENERATIONS lines peruse wrote itself. */
  loopsBroken = 0;
  lastError: string | undefined;
  /** Generation of each written line not read back yet, by message text (oldest first). */
  private readonly pending = new Map<string, number[]>();
  private pendingCount = 0;
  private feedbackSecond = 0;
  private feedbackInSecond = 0;

  constructor(private readonly command: WriterCommand = systemdCat) {}

  /**
   * Writes `message`; `cause` is the entry that made an action_log write it. When that entry is a
   * line written here (read back from the journal), the new line is one generation further, and
   * past MAX_GENERATIONS it is not written: a feedback loop is broken, not followed for ever.
   */
  write(level: SyslogLevel, message: string, cause?: Record<string, unknown>): WriteResult {
    const generation = (cause === undefined ? 0 : this.generationOf(cause)) + 1;
    if (generation > MAX_GENERATIONS || (cause?.SYSLOG_IDENTIFIER === 'peruse' && this.feedbackRateExceeded())) {
      this.loopsBroken++;
      return 'loop';
    }
    const priority = SYSLOG_LEVELS.indexOf(level);
    const writer = this.writers.get(priority) ?? this.spawn(priority);
    if (writer === undefined) {
      this.dropped++;
      return 'dropped';
    }
    // one entry per message: systemd-cat would split a multi-line message into several entries
    const line = message.replace(/\r?\n/g, '\\n');
    writer.child.stdin!.write(line + '\n');
    this.remember(line, generation);
    return 'written';
  }

  /** 0 for an entry of the world; the generation of a line written here, read back (consumed once). */
  private generationOf(entry: Record<string, unknown>): number {
    if (entry.SYSLOG_IDENTIFIER !== 'peruse' || typeof entry.MESSAGE !== 'string') return 0;
    // journald may drop trailing white space of a stream line
    const key = entry.MESSAGE.trimEnd();
    const generations = this.pending.get(key);
    if (generations === undefined) return 0;
    const generation = generations.shift()!;
    this.pendingCount--;
    if (generations.length === 0) this.pending.delete(key);
    return generation;
  }

  private feedbackRateExceeded(): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.feedbackSecond) {
      this.feedbackSecond = second;
      this.feedbackInSecond = 0;
    }
    return ++this.feedbackInSecond > MAX_FEEDBACK_PER_SECOND;
  }

  private remember(text: string, generation: number): void {
    const line = text.trimEnd();
    const generations = this.pending.get(line);
    if (generations) generations.push(generation);
    else this.pending.set(line, [generation]);
    if (++this.pendingCount <= MAX_PENDING) return;
    // the oldest message's oldest line: lines filtered out of what peruse reads are never read back
    const [oldest, list] = this.pending.entries().next().value as [string, number[]];
    list.shift();
    this.pendingCount--;
    if (list.length === 0) this.pending.delete(oldest);
  }

  /** Ends every writer and waits until they have handed their lines to the journal. */
  async close(): Promise<void> {
    const exits: Promise<void>[] = [];
    for (const writer of this.writers.values()) {
      writer.child.stdin!.end();
      exits.push(writer.exited);
    }
    this.writers.clear();
    // a deliberate close is no crash: the next line (after a reload) may start a writer at once
    this.lastSpawn.clear();
    await Promise.all(exits);
  }

  private spawn(priority: number): Writer | undefined {
    const now = Date.now();
    const last = this.lastSpawn.get(priority);
    if (last !== undefined && now - last < RESPAWN_PAUSE_MS) return undefined;
    this.lastSpawn.set(priority, now);
    const [file, ...args] = this.command(priority);
    if (!file) return undefined;
    const child = childProcess().spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString('utf8')).slice(-500); });
    child.stdin!.on('error', (e) => { this.lastError = e.message; });
    const exited = new Promise<void>((resolve) => {
      let failedToStart = false;
      child.on('error', (e) => { failedToStart = true; this.lastError = `${file}: ${e.message}`; this.forget(priority, child); resolve(); });
      child.on('close', (code) => {
        // after a spawn error, 'close' follows with a bare code: keep the error's reason
        if (code !== 0 && !failedToStart) this.lastError = `${file} exited with ${String(code)}${stderr ? `: ${stderr.trim()}` : ''}`;
        this.forget(priority, child);
        resolve();
      });
    });
    const writer = { child, exited };
    this.writers.set(priority, writer);
    return writer;
  }

  private forget(priority: number, child: ChildProcess): void {
    if (this.writers.get(priority)?.child === child) this.writers.delete(priority);
  }
}
