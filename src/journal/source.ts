import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { JournalSettings } from '../config/settings.js';
import type { Entry } from '../modules/api.js';
import type { Logger } from '../system/log.js';
import { ExportParser } from './export-parser.js';
import { handOverAfter, SkipThrough } from './hand-over.js';
import { nativeEligible, openNative, type NativeStart } from './native/open.js';
import { CatchUp, type NativeJournal } from './native/reader.js';

/** Where the next journalctl starts reading. */
export type StartPosition =
  | { after: string }   // right after this cursor (exactly-once resume)
  | { since: string }   // journalctl --since syntax
  | { head: true }      // everything (a journal that was empty when peruse started)
  | { tail: true };     // only what is written from now on (Pyruse's default)

/**
 * The journalctl command line. `--merge` always: with `--directory`/`--file` over a journal written by
 * systemd-journal-remote, journalctl 252 `--follow` otherwise prints only one host's entries (it
 * restricts itself to one boot), and locally it keeps a resume across a reboot from being cut.
 */
export function journalctlArgs(journal: JournalSettings, position: StartPosition): string[] {
  const args = ['--output=export', '--follow', '--merge', '--no-pager'];
  if (journal.directory !== undefined) args.push(`--directory=${journal.directory}`);
  const files = journal.file === undefined ? [] : Array.isArray(journal.file) ? journal.file : [journal.file];
  for (const file of files) args.push(`--file=${file}`);
  if (journal.system === true) args.push('--system');
  // --lines=all: with --follow, journalctl 252 otherwise shows only the last 10 entries after the cursor
  if ('after' in position) args.push(`--after-cursor=${position.after}`, '--lines=all');
  else if ('since' in position) args.push(`--since=${position.since}`, '--lines=all');
  else if ('head' in position) args.push('--lines=all');
  else args.push('--lines=0');
  // matches last: journalctl reads every positional argument as a match (FIELD=value, +, a path)
  args.push(...(journal.matches ?? []));
  return args;
}

const STDBUF = '/usr/bin/stdbuf';

/**
 * journalctl under `stdbuf -o 64K`: 64 KiB writes instead of 4 KiB ones cut the pipe's cost on a
 * backlog (~12 % here). Following adds no delay: journalctl flushes whenever it has caught up,
 * before it waits for new entries.
 */
export function blockBuffered(journalctl: string, args: readonly string[]): [string, string[]] {
  return existsSync(STDBUF) ? [STDBUF, ['-o', '64K', journalctl, ...args]] : [journalctl, [...args]];
}

export interface JournalSourceOptions {
  journal: JournalSettings;
  /** Where to start the first journalctl; later ones start after the last processed cursor. */
  start: StartPosition;
  decode: (bytes: Uint8Array) => string;
  /** The only fields to decode (`fieldsRead` of the program); undefined: every field. */
  wanted?: ReadonlySet<string>;
  log: Logger;
  /** Each entry in journal order; a returned Promise pauses reading until it settles. */
  onEntry: (entry: Entry) => void | Promise<void>;
  /** No output for this long while the journal has newer entries: journalctl is restarted. */
  stallSeconds?: number;
  backoffMs?: { first: number; max: number };
  /** The start cursor was refused: reading goes on after this pinned tail (undefined: from the head of an empty journal). */
  onRestartAtTail?: (cursor: string | undefined) => void;
}

/**
 * Supervises `journalctl --follow`: parses its export stream, hands entries over one at a time
 * (pausing the pipe while an entry is in flight, so memory does not grow with a backlog), and
 * restarts it with backoff, after the last processed cursor, when it exits or stalls.
 * The journal files are first read in-process up to their end (about twice journalctl's speed,
 * native/reader.ts); journalctl then follows after the last entry read.
 */
export class JournalSource {
  /** `__CURSOR` of the last entry fully processed: where a restarted journalctl resumes. */
  lastCursor: string | undefined;
  restarts = 0;
  entries = 0;
  private position: StartPosition;
  private child: ChildProcess | undefined;
  private parser: ExportParser;
  private busy: Promise<void> | undefined;
  private stopping = false;
  private held = false;
  private delay: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastOutput = Date.now();
  private sessionEnded: (() => void) | undefined;
  private stopped: Promise<void> | undefined;
  /** A journalctl whose remaining output is thrown away (it is being restarted). */
  private discarded: ChildProcess | undefined;
  /** The journal files being read in-process, before journalctl follows. */
  private native: NativeJournal | undefined;
  /** The in-process read stops after the current entry (the journal selection changed). */
  private nativeAbort = false;
  private wakeNative: (() => void) | undefined;
  /** journalctl starts before the last entry read in-process (hand-over from a damaged file): those are not handed out again. */
  private skip: SkipThrough | undefined;

  constructor(private options: JournalSourceOptions) {
    this.position = options.start;
    if ('after' in options.start) this.lastCursor = options.start.after;
    this.parser = new ExportParser(options.decode, (why) => options.log.warn(`journal: corrupt entry skipped: ${why}`), options.wanted);
    this.delay = options.backoffMs?.first ?? 500;
  }

  get journalctl(): string {
    return this.options.journal.journalctl ?? 'journalctl';
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if ('tail' in this.position) this.position = await this.pinTail();
    const native = await this.openNativeJournal();
    // not awaited: a long backlog must not hold up the daemon's start (nor its signals)
    if (native) void this.readNatively(native);
    else this.spawnJournalctl();
    const stallMs = (this.options.stallSeconds ?? 30) * 1000;
    this.stallTimer = setInterval(() => void this.checkStall(stallMs), Math.min(stallMs, 5000));
    this.stallTimer.unref();
  }

  /** Stops handing out entries after the current one (a reload is in progress). */
  hold(): void {
    this.held = true;
    this.child?.stdout?.pause();
  }

  release(): void {
    this.held = false;
    this.wakeNativeReader();
    this.drain();
  }

  /** Resolves once no entry is in flight. */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /**
   * New settings, handler and fields to decode (SIGHUP). A changed journal selection restarts
   * journalctl from the last cursor; so does a new config reading a field the old one skipped,
   * since the bytes already read were parsed without it.
   */
  reconfigure(journal: JournalSettings, onEntry: JournalSourceOptions['onEntry'], wanted?: ReadonlySet<string>): void {
    const changed = JSON.stringify(journal) !== JSON.stringify(this.options.journal);
    const previous = this.options.wanted;
    const widened = previous !== undefined && (wanted === undefined || [...wanted].some((f) => !previous.has(f)));
    this.options = { ...this.options, journal, onEntry, wanted };
    this.parser.setWanted(wanted);
    // files read in-process are decoded again from the file: more fields need no restart
    this.native?.setWanted(wanted);
    if (changed && this.native) {
      this.options.log.notice('journal settings changed: journalctl takes over after the last processed entry');
      this.nativeAbort = true;
    }
    if (widened && this.child) {
      // what is left in the pipe (maybe an entry half parsed without the new fields) is dropped:
      // the next journalctl reads it again after the last processed cursor
      this.discarded = this.child;
      this.parser.reset();
    }
    if ((changed || widened) && this.child) {
      this.options.log.notice(changed ? 'journal settings changed: restarting journalctl' : 'the new config reads more fields: restarting journalctl after the last processed entry');
      this.child?.kill('SIGKILL');
    }
  }

  /** Kills journalctl; resolves when the entry in flight (if any) is done. No entry starts after this. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.wakeNativeReader();
      clearInterval(this.stallTimer);
      clearTimeout(this.restartTimer);
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // a reader loses nothing; journalctl 252 takes ~1.5 s to act on SIGTERM
      await this.idle();
    })();
    return this.stopped;
  }

  /** The journal files opened in-process at the start position, or undefined when journalctl must read them. */
  private async openNativeJournal(): Promise<NativeJournal | undefined> {
    const journal = this.options.journal;
    if (!nativeEligible(journal) || (journal.directory !== undefined && !existsSync(journal.directory))) return undefined;
    const position = this.position;
    let start: NativeStart;
    if ('head' in position) start = { head: true };
    else if ('after' in position) start = { after: position.after };
    else if ('since' in position) {
      // journalctl's own answer for the first entry (its time parsing and seek), then in-process from there
      const first = await this.firstCursorSince(position.since);
      if (first === undefined) return undefined;
      start = { at: first };
    } else return undefined;
    const opened = openNative(journal, start, { decode: this.options.decode, wanted: this.options.wanted });
    if (typeof opened === 'string') {
      this.options.log.info(`journal files read by journalctl: ${opened}`);
      return undefined;
    }
    this.options.log.info(`reading ${opened.fileCount} journal files in-process up to their end, then following with journalctl`);
    return opened;
  }

  /** Hands out the entries of the files read in-process (same pacing rules as drain), then starts journalctl after the last one. */
  private async readNatively(journal: NativeJournal): Promise<void> {
    this.native = journal;
    const catchUp = new CatchUp(journal);
    let count = 0;
    try {
      while (!this.stopping && !this.nativeAbort) {
        if (this.held) {
          await new Promise<void>((resolve) => { this.wakeNative = resolve; });
          continue;
        }
        const entry = catchUp.next();
        if (entry === undefined) break;
        const pending = this.options.onEntry(entry);
        if (pending !== undefined) {
          this.busy = pending.then(() => undefined, () => undefined);
          await this.busy;
          this.busy = undefined;
        }
        this.accept(entry);
        // now and then the event loop runs: signals, timers, metrics
        if (++count % 1000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      journal.close();
      this.native = undefined;
      this.nativeAbort = false;
    }
    if (count > 0) this.options.log.info(`${count} entries read in-process; journalctl follows from here`);
    if (catchUp.stopped !== undefined) {
      this.options.log.warn(`reading the journal files in-process stopped (${catchUp.stopped}): journalctl goes on after the last processed entry`);
      if (!this.stopping && this.lastCursor !== undefined) await this.handOver(this.lastCursor);
    }
    if (!this.stopping) this.spawnJournalctl();
  }

  /** After a damaged file: the start from which journalctl reaches past `cursor` (see hand-over.ts). */
  private async handOver(cursor: string): Promise<void> {
    const start = await handOverAfter(this.journalctl, cursor, (position) => journalctlArgs(this.options.journal, position).filter((a) => a !== '--follow'));
    if ('after' in start) return;
    this.options.log.warn(`journalctl finds nothing after ${cursor} by cursor: it reads ${'since' in start ? `since ${start.since}` : 'from the head'} and the entries up to that one are skipped`);
    this.position = 'since' in start ? { since: start.since } : { head: true };
    this.skip = new SkipThrough(start.skipThrough);
  }

  private wakeNativeReader(): void {
    const wake = this.wakeNative;
    this.wakeNative = undefined;
    wake?.();
  }

  /** The cursor of the first entry journalctl prints for --since (undefined: none, or journalctl failed). */
  private async firstCursorSince(since: string): Promise<string | undefined> {
    const args = journalctlArgs(this.options.journal, { since }).filter((a) => a !== '--follow');
    // __CURSOR is an entry's first line: journalctl is stopped once it is out
    return cursorIn(await this.runProbe(args, (text) => text.includes('\n')));
  }

  private spawnJournalctl(): void {
    const directory = this.options.journal.directory;
    if (directory !== undefined && !existsSync(directory)) {
      // journalctl fails on a missing directory; wait for it (a central journal not created yet)
      this.options.log.warn(`journal directory ${directory} does not exist yet: waiting for it`);
      this.scheduleRestart();
      return;
    }
    const args = journalctlArgs(this.options.journal, this.position);
    this.options.log.debug(`spawning ${this.journalctl} ${args.join(' ')}`);
    const [command, argv] = blockBuffered(this.journalctl, args);
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.parser.reset();
    this.lastOutput = Date.now();
    let gotOutput = false;
    const stderrLines: string[] = [];
    let stderrCarry = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      const lines = (stderrCarry + text).split('\n');
      stderrCarry = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') {
        stderrLines.push(line);
        this.options.log.warn(`journalctl: ${line}`);
      }
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child !== child || this.discarded === child) return;
      gotOutput = true;
      this.lastOutput = Date.now();
      this.parser.push(chunk);
      this.drain();
    });
    child.on('error', (error) => this.options.log.error(`cannot run ${this.journalctl}: ${error.message}`));
    child.on('close', (code, signal) => {
      if (stderrCarry.trim() !== '') this.options.log.warn(`journalctl: ${stderrCarry}`);
      void this.afterExit(child, code, signal, gotOutput, stderrLines);
    });
  }

  private async afterExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null,
    gotOutput: boolean, stderrLines: string[]): Promise<void> {
    // the entries already read from the pipe are processed before anything else happens
    await new Promise<void>((resolve) => { this.sessionEnded = resolve; this.drain(); });
    if (this.child === child) this.child = undefined;
    if (this.parser.midEntry) this.options.log.warn('journalctl stopped in the middle of an entry: it is read again after the restart');
    if (this.stopping) return;
    const why = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
    if (!gotOutput && 'after' in this.position && stderrLines.some((l) => /cursor/i.test(l))) {
      this.options.log.error(`journalctl rejected the saved cursor (${this.position.after}): starting at the tail`);
      // pinned like at a first start: a later restart of journalctl (or of peruse, once the
      // checkpoint holds it) must not skip what is written before the first new entry
      this.lastCursor = undefined;
      this.position = await this.pinTail();
      if (this.stopping) return;
      this.options.onRestartAtTail?.(this.lastCursor);
    }
    if (gotOutput) this.delay = this.options.backoffMs?.first ?? 500;
    this.options.log.warn(`journalctl ${why}: restarting in ${this.delay} ms after the last processed entry`);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.options.backoffMs?.max ?? 30_000);
    this.restarts++;
    this.restartTimer = setTimeout(() => this.spawnJournalctl(), wait);
  }

  /** Hands out parsed entries until one is asynchronous, the source is held, or the bytes run out. */
  private drain(): void {
    if (this.busy) return;
    const stdout = this.child?.stdout;
    while (!this.held && !this.stopping) {
      const entry = this.parser.next();
      if (entry === undefined) break;
      if (this.skip !== undefined) {
        if (!this.skip.passes(entry.__CURSOR)) continue;
        this.options.log.info(`journalctl reached past ${this.skip.cursor} after ${this.skip.skipped} entries read before`);
        this.skip = undefined;
      }
      const pending = this.options.onEntry(entry);
      if (pending !== undefined) {
        stdout?.pause();
        this.busy = pending.then(() => this.entryDone(entry), () => this.entryDone(entry));
        return;
      }
      this.accept(entry);
    }
    if (this.held) return;
    if (this.sessionEnded) {
      // every complete entry journalctl wrote before it exited has been handed out
      const ended = this.sessionEnded;
      this.sessionEnded = undefined;
      ended();
      return;
    }
    if (stdout?.isPaused()) stdout.resume();
  }

  private entryDone(entry: Entry): void {
    this.busy = undefined;
    this.accept(entry);
    this.drain();
  }

  private accept(entry: Entry): void {
    this.entries++;
    const cursor = entry.__CURSOR;
    if (typeof cursor === 'string') {
      this.lastCursor = cursor;
      this.position = { after: cursor };
    } else if (!('after' in this.position)) {
      // no cursor seen yet: a restart must not go back to the tail and skip what came meanwhile
      this.position = { head: true };
    }
  }

  /**
   * "The tail" as a position that survives a journalctl restart: after the journal's last entry now,
   * or the head of a journal still empty (everything in it will have been written after we started).
   */
  private async pinTail(): Promise<StartPosition> {
    const directory = this.options.journal.directory;
    if (directory !== undefined && !existsSync(directory)) return { head: true };
    const args = journalctlArgs(this.options.journal, { tail: true }).filter((a) => a !== '--follow' && a !== '--lines=0');
    const cursor = cursorIn(await this.runProbe([...args, '--lines=1']));
    if (cursor !== undefined) {
      this.lastCursor = cursor;
      return { after: cursor };
    }
    return { head: true };
  }

  /** A short non-following journalctl; its stdout as text ('' on failure), cut short (journalctl killed) once `enough` says so. */
  private runProbe(args: string[], enough?: (text: string) => boolean): Promise<string> {
    return new Promise<string>((resolve) => {
      const p = spawn(this.journalctl, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        resolve(text);
      };
      p.stdout!.setEncoding('latin1');
      p.stdout!.on('data', (chunk: string) => {
        text += chunk;
        if (enough?.(text) === true) finish();
      });
      p.on('close', finish);
      p.on('error', () => { text = ''; finish(); });
    });
  }

  /** Quiet for stallMs while the journal has an entry after ours: journalctl is stuck; restart it. */
  private async checkStall(stallMs: number): Promise<void> {
    const child = this.child;
    if (!child || this.busy || this.held || this.stopping || Date.now() - this.lastOutput < stallMs) return;
    if (this.lastCursor === undefined) return;
    const probe = journalctlArgs(this.options.journal, { after: this.lastCursor })
      .filter((a) => a !== '--follow' && a !== '--lines=all').concat('--lines=1');
    const newer = (await this.runProbe(probe)).length > 0;
    if (newer && this.child === child && Date.now() - this.lastOutput >= stallMs && !this.busy) {
      this.options.log.warn(`journalctl printed nothing for ${Math.round((Date.now() - this.lastOutput) / 1000)} s while newer entries exist: restarting it`);
      child.kill('SIGKILL');
    }
  }
}

/** The `__CURSOR` of the first entry in journalctl export text. */
function cursorIn(text: string): string | undefined {
  return /^__CURSOR=(.*)$/m.exec(text)?.[1];
}
