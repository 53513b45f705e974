import { appendFileSync, closeSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Mailer } from '../system/mailer-api.js';
import { buildSections, dayOf, renderReportHtml, renderReportText, ReportBuilder, type ReportSections } from './report-render.js';

export const REPORT_LEVELS = ['WARN', 'INFO', 'OTHER'] as const;
export type ReportLevel = (typeof REPORT_LEVELS)[number];
export const REPORT_DETAILS = ['ALL', 'NONE', 'FIRST', 'LAST', 'FIRSTLAST'] as const;
export type ReportDetails = (typeof REPORT_DETAILS)[number];

/** One line of the report journal. */
export interface ReportRecord {
  level: ReportLevel;
  /** Event time, µs. */
  time: number;
  message: string;
  details: ReportDetails;
}

export const REPORT_FILE = 'peruse.report.jsonl';
/** The last report sent, kept for a look back (replaced at each sending). */
export const SENT_REPORT_FILE = 'peruse.report.sent.jsonl';
/** Dry-run keeps the report in memory: bound it (the daemon's report lives on disk, not here). */
const MEMORY_RECORDS_MAX = 20_000;

/** The next local midnight after `micros`, in µs. */
export function nextLocalMidnight(micros: number): number {
  const d = new Date(micros / 1000);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime() * 1000;
}

/**
 * The current daily report: an append-only JSON-lines journal in `storage`, so nothing is lost on
 * a crash or restart. Lines of the same tick are written together (one write per batch, not per
 * line). The file is reopened for every batch so that `peruse report --send` may rotate it under a
 * running daemon. Without `writeFiles` (dry-run) the records stay in memory.
 */
export class ReportJournal {
  readonly file: string;
  readonly sentFile: string;
  private pending = '';
  private flushScheduled: NodeJS.Immediate | undefined;
  private storageMade = false;
  private readonly memory: ReportRecord[] = [];
  /** Event time (µs) at which the current report's day ends; undefined until known. */
  private dayEnd: number | undefined;
  private schedule: ReportSchedule | undefined;
  /** Called after a write failed (the lines stay pending and are retried at the next batch). */
  onWriteError: (error: Error) => void = () => {};

  constructor(readonly storage: string, readonly writeFiles: boolean) {
    this.file = path.join(storage, REPORT_FILE);
    this.sentFile = path.join(storage, SENT_REPORT_FILE);
  }

  /** True when `time` falls on a later day than the report's first record: the report is due. */
  isDueAt(time: number): boolean {
    if (this.dayEnd === undefined) {
      const first = this.writeFiles ? this.firstRecordTime() : this.memory[0]?.time;
      this.dayEnd = nextLocalMidnight(first ?? time);
    }
    return time >= this.dayEnd;
  }

  append(record: ReportRecord): void {
    if (this.dayEnd === undefined) this.dayEnd = nextLocalMidnight(record.time);
    if (!this.writeFiles) {
      if (this.memory.length < MEMORY_RECORDS_MAX) this.memory.push(record);
      return;
    }
    this.pending += JSON.stringify(record) + '\n';
    this.flushScheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.flushScheduled) { clearImmediate(this.flushScheduled); this.flushScheduled = undefined; }
    if (this.pending === '') return;
    try {
      // the directory is made once; if it is removed under the daemon, the failed append makes it again
      if (!this.storageMade) { mkdirSync(this.storage, { recursive: true }); this.storageMade = true; }
      appendFileSync(this.file, this.pending);
      this.pending = '';
    } catch (e) {
      this.storageMade = false;
      this.onWriteError(e as Error);
    }
  }

  /** Every record of the current report, in journal order (tests; a report is sent from sections()). */
  records(): ReportRecord[] {
    if (!this.writeFiles) return this.memory.slice();
    this.flush();
    return readReportFile(this.file);
  }

  /** The current report grouped into its sections, the journal streamed in bounded memory. */
  sections(): ReportSections {
    if (!this.writeFiles) return buildSections(this.memory);
    this.flush();
    const builder = new ReportBuilder();
    forEachReportRecord(this.file, (record) => builder.add(record));
    return builder.finish();
  }

  /**
   * Starts a new report: the current one becomes the "sent" file (memory is emptied).
   * `sentAt` (µs), when the timer sent it: the new report covers that day, so late entries of the
   * day before (journal lag around midnight) join it instead of making a report of their own.
   */
  rotate(sentAt?: number): void {
    this.rotateFile(sentAt);
  }

  /** rotate(); true when a report file was there and became the "sent" file. */
  private rotateFile(sentAt?: number): boolean {
    this.dayEnd = sentAt === undefined ? undefined : nextLocalMidnight(sentAt);
    if (!this.writeFiles) { this.memory.length = 0; return false; }
    this.flush();
    try {
      renameSync(this.file, this.sentFile);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return false;
    }
  }

  /**
   * Starts a new report and emails the one it ends (text + HTML part), built from the rotated
   * journal in bounded memory after the caller went on (an entry finding the report due is not held
   * up by it). Returns the number of records sent (0: nothing to send, nothing sent).
   */
  async send(mailer: Mailer, subject: string, sentAt?: number): Promise<number> {
    let sections: ReportSections;
    if (!this.writeFiles) {
      sections = buildSections(this.memory);
      this.rotateFile(sentAt);
    } else {
      if (!this.rotateFile(sentAt)) return 0;
      // opened now: a later rotation replacing the "sent" file cannot change what is read
      const fd = openSync(this.sentFile, 'r');
      try {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const builder = new ReportBuilder();
        forEachReportRecord(fd, (record) => builder.add(record));
        sections = builder.finish();
      } finally {
        closeSync(fd);
      }
    }
    if (sections.records === 0) return 0;
    const day = dayOf(sections.firstTime);
    await mailer.send({ subject, text: renderReportText(sections, day), html: renderReportHtml(sections, day), encoding: 'base64' });
    return sections.records;
  }

  /** Daemon: sends the report at every local midnight (idempotent: one timer however many steps ask). */
  startSchedule(mailer: Mailer, subject: string, onError: (error: Error) => void): void {
    this.schedule ??= scheduleDailyReport({ journal: this, mailer, subject, onError });
  }

  stopSchedule(): void {
    this.schedule?.stop();
    this.schedule = undefined;
  }

  private firstRecordTime(): number | undefined {
    const pendingFirst = this.pending ? parseRecord(this.pending.slice(0, this.pending.indexOf('\n'))) : undefined;
    // only the first line matters: a long report journal is not read whole for it
    let head = '';
    try {
      const fd = openSync(this.file, 'r');
      try {
        const buffer = Buffer.alloc(64 * 1024);
        head = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
      } finally {
        closeSync(fd);
      }
    } catch {
      return pendingFirst?.time;
    }
    const newline = head.indexOf('\n');
    return parseRecord(newline < 0 ? head : head.slice(0, newline))?.time ?? pendingFirst?.time;
  }
}

/** Reads a whole report journal (small ones: tests); a torn line (crash mid-write) is skipped. */
export function readReportFile(file: string): ReportRecord[] {
  const out: ReportRecord[] = [];
  forEachReportRecord(file, (record) => out.push(record));
  return out;
}

const READ_CHUNK = 1 << 20;

/**
 * Calls `each` with every record of a report journal (a path, or an open descriptor read from its
 * start) in journal order, reading it in 1 MiB chunks: memory stays bounded however long the day.
 * A missing file has no record; a torn line (crash mid-write) is skipped.
 */
export function forEachReportRecord(file: string | number, each: (record: ReportRecord) => void): void {
  let fd: number;
  if (typeof file === 'number') fd = file;
  else {
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
  }
  try {
    let buffer = Buffer.alloc(READ_CHUNK);
    let kept = 0; // bytes of an unfinished line at the start of the buffer
    let position = 0;
    for (;;) {
      if (kept === buffer.length) {
        // one line longer than the buffer: grow it for that line
        const bigger = Buffer.alloc(buffer.length * 2);
        buffer.copy(bigger, 0, 0, kept);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, kept, buffer.length - kept, position);
      position += read;
      const end = kept + read;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline >= 0 && newline < end; newline = buffer.indexOf(10, start)) {
        const record = parseRecord(buffer.toString('utf8', start, newline));
        if (record) each(record);
        start = newline + 1;
      }
      if (read === 0) {
        if (start < end) {
          const record = parseRecord(buffer.toString('utf8', start, end));
          if (record) each(record);
        }
        return;
      }
      buffer.copy(buffer, 0, start, end);
      kept = end - start;
    }
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}

function parseRecord(line: string): ReportRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value = JSON.parse(line) as Partial<ReportRecord>;
    if (!REPORT_LEVELS.includes(value.level as ReportLevel) || typeof value.time !== 'number' || typeof value.message !== 'string') return undefined;
    const details = REPORT_DETAILS.includes(value.details as ReportDetails) ? value.details! : 'ALL';
    return { level: value.level!, time: value.time, message: value.message, details };
  } catch {
    return undefined;
  }
}

export interface ReportSchedule {
  stop(): void;
}

/**
 * The daemon's timer: sends the report at every local midnight (wall clock), so a quiet day is
 * reported too. Entries crossing midnight in event time also trigger the sending (see the
 * action); whichever comes first sends, the other finds a fresh report.
 */
export function scheduleDailyReport(options: {
  journal: ReportJournal;
  mailer: Mailer;
  subject: string;
  onError: (error: Error) => void;
  /** Wall clock in µs (tests move it). */
  now?: () => number;
}): ReportSchedule {
  const now = options.now ?? (() => Date.now() * 1000);
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const delayMs = Math.max(1000, (nextLocalMidnight(now()) - now()) / 1000 + 1000);
    timer = setTimeout(fire, Math.min(delayMs, 2 ** 31 - 1));
    timer.unref();
  };
  const fire = () => {
    const at = now();
    if (options.journal.isDueAt(at)) options.journal.send(options.mailer, options.subject, at).catch(options.onError);
    arm();
  };
  arm();
  return { stop: () => { if (timer) clearTimeout(timer); timer = undefined; } };
}
