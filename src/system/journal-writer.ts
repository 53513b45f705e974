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
  lastError: string | undefined;

  constructor(private readonly command: WriterCommand = systemdCat) {}

  write(level: SyslogLevel, message: string): boolean {
    const priority = SYSLOG_LEVELS.indexOf(level);
    const writer = this.writers.get(priority) ?? this.spawn(priority);
    if (writer === undefined) {
      this.dropped++;
      return false;
    }
    // one entry per message: systemd-cat would split a multi-line message into several entries
    writer.child.stdin!.write(message.replace(/\r?\n/g, '\\n') + '\n');
    return true;
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
