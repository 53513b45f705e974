// Plain text logs (/var/log/auth.log, nginx's error.log …) read as journal-like entries, so rules
// written for the journal can be tried on the logs an admin already has (`peruse test --log`).
// Formats are parsed from their documented layouts (RFC 3164 / rsyslog, RFC 5424, nginx's and
// Apache's error_log). A pure library: no IO here beyond what the caller streams in.
import type { Entry } from '../modules/api.js';
import { DatedLineParser } from './dated-line.js';

export const TEXT_LOG_FORMATS = ['syslog', 'rfc5424', 'nginx-error', 'apache-error'] as const;
// `line` (the whole line, date taken out, as fail2ban reads logs) is never guessed by `auto`
export type TextLogFormat = typeof TEXT_LOG_FORMATS[number] | 'line';

export interface TextLogOptions {
  /** A format, or 'auto' to recognise each line's own. */
  format: TextLogFormat | 'auto';
  /** Year of dates that carry none (classic syslog); default: the current year, or the last one for a date in the future. */
  year?: number;
  /** Time zone of dates that carry none: an IANA name (`Europe/Paris`), `UTC`, or an offset (`+02:00`); default: the local one. */
  timeZone?: string;
  /** `_HOSTNAME` of formats that carry none (nginx, Apache); default: absent. */
  hostname?: string;
}

/** A parsed line: the entry, and the format that recognised it. */
export interface TextLogLine {
  entry: Entry;
  format: TextLogFormat;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// syslog severities by the names nginx and Apache write
const LEVELS: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, error: 3, err: 3, warn: 4, warning: 4, notice: 5, info: 6, debug: 7,
};

interface WallTime { year?: number; month: number; day: number; hour: number; minute: number; second: number; micros: number; offsetMinutes?: number }

// `Dec  2 13:48:28 host prog[123]: message` (RFC 3164, what rsyslog writes by default)
const SYSLOG_CLASSIC = /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? (\S+) (.*)$/;
// `2026-12-02T13:48:28.123456+01:00 host prog[123]: message` (rsyslog's high-precision format, Debian 12's default)
const SYSLOG_ISO = /^(?:<(\d{1,3})>)?(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)? (\S+) (.*)$/;
// the TAG of a syslog line: `sshd[123]: `, `kernel: `, `postfix/smtpd[42]: `
const SYSLOG_TAG = /^([^\s:[\]]{1,64})(?:\[(\d+)\])?: ?(.*)$/s;
// `<34>1 2026-12-02T13:48:28.003Z host app 123 ID47 [sd …] message`; the PRI is often dropped in files
const RFC5424 = /^(?:<(\d{1,3})>)?1 (\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s;
// `2026/12/02 13:48:28 [error] 1234#1234: *5 message`
const NGINX_ERROR = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[([a-z]+)\] (\d+)#\d+: (.*)$/s;
// `[Wed Dec 02 13:48:28.123456 2026] [auth_basic:error] [pid 1234:tid 5678] [client 1.2.3.4:5678] AH01618: …` (2.4),
// `[Wed Dec 02 13:48:28 2026] [error] [client 1.2.3.4] …` (2.2)
const APACHE_ERROR = /^\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? (\d{4})\] \[(?:([\w-]+):)?([a-z]+\d?)\](?: \[pid (\d+)(?::tid \d+)?\])? (.*)$/s;

/**
 * Turns the lines of one text log into entries. Keeps what spans lines: the year of dates that
 * carry none moves on when the months wrap (December, then January).
 */
export class TextLogParser {
  private lastMonth = -1;
  private yearOffset = 0;
  private readonly zone: ZoneOffset;
  private datedLines?: DatedLineParser;

  constructor(readonly options: TextLogOptions) {
    this.zone = zoneOffset(options.timeZone);
  }

  /** The entry of one line (without its newline), or undefined when the line is in no known format. */
  parse(line: string): TextLogLine | undefined {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (this.options.format !== 'auto') {
      const entry = this.parseAs(this.options.format, text);
      return entry && { entry, format: this.options.format };
    }
    for (const format of TEXT_LOG_FORMATS) {
      const entry = this.parseAs(format, text);
      if (entry) return { entry, format };
    }
    return undefined;
  }

  private parseAs(format: TextLogFormat, line: string): Entry | undefined {
    switch (format) {
      case 'syslog': return this.syslog(line);
      case 'rfc5424': return this.rfc5424(line);
      case 'nginx-error': return this.nginxError(line);
      case 'apache-error': return this.apacheError(line);
      case 'line': return this.withHost((this.datedLines ??= new DatedLineParser(this.options.year)).parse(line));
    }
  }

  private syslog(line: string): Entry | undefined {
    let pri: string | undefined, time: WallTime, host: string, rest: string;
    const classic = SYSLOG_CLASSIC.exec(line);
    if (classic) {
      const month = MONTHS.indexOf(classic[2]!.toLowerCase());
      if (month < 0) return undefined;
      pri = classic[1];
      time = { month, day: Number(classic[3]), hour: Number(classic[4]), minute: Number(classic[5]), second: Number(classic[6]), micros: fraction(classic[7]) };
      host = classic[8]!;
      rest = classic[9]!;
    } else {
      const iso = SYSLOG_ISO.exec(line);
      if (!iso) return undefined;
      pri = iso[1];
      time = { year: Number(iso[2]), month: Number(iso[3]) - 1, day: Number(iso[4]), hour: Number(iso[5]), minute: Number(iso[6]), second: Number(iso[7]), micros: fraction(iso[8]), offsetMinutes: offsetOf(iso[9]) };
      host = iso[10]!;
      rest = iso[11]!;
    }
    const entry: Entry = { __REALTIME_TIMESTAMP: this.micros(time), _HOSTNAME: host };
    addPriority(entry, pri);
    const tag = SYSLOG_TAG.exec(rest);
    if (tag) {
      entry.SYSLOG_IDENTIFIER = tag[1]!;
      if (tag[2] !== undefined) entry._PID = Number(tag[2]);
      entry.MESSAGE = tag[3]!;
    } else {
      entry.MESSAGE = rest;
    }
    return entry;
  }

  private rfc5424(line: string): Entry | undefined {
    const m = RFC5424.exec(line);
    if (!m) return undefined;
    const time = { year: Number(m[2]), month: Number(m[3]) - 1, day: Number(m[4]), hour: Number(m[5]), minute: Number(m[6]), second: Number(m[7]), micros: fraction(m[8]), offsetMinutes: offsetOf(m[9]) };
    const entry: Entry = { __REALTIME_TIMESTAMP: this.micros(time) };
    addPriority(entry, m[1]);
    if (m[10] !== '-') entry._HOSTNAME = m[10]!;
    if (m[11] !== '-') entry.SYSLOG_IDENTIFIER = m[11]!;
    if (/^\d+$/.test(m[12]!)) entry._PID = Number(m[12]);
    // a UTF-8 message may start with a byte order mark (RFC 5424 §6.4)
    entry.MESSAGE = (m[15] ?? '').replace(/^\uFEFF/, '');
    return entry;
  }

  private nginxError(line: string): Entry | undefined {
    const m = NGINX_ERROR.exec(line);
    if (!m) return undefined;
    const level = LEVELS[m[7]!];
    if (level === undefined) return undefined;
    const time = { year: Number(m[1]), month: Number(m[2]) - 1, day: Number(m[3]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6]), micros: 0 };
    return this.withHost({ __REALTIME_TIMESTAMP: this.micros(time), SYSLOG_IDENTIFIER: 'nginx', _PID: Number(m[8]), PRIORITY: level, MESSAGE: m[9]! });
  }

  private apacheError(line: string): Entry | undefined {
    const m = APACHE_ERROR.exec(line);
    if (!m) return undefined;
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    const level = LEVELS[m[9]!.replace(/\d$/, '')];
    if (month < 0 || level === undefined) return undefined;
    const time = { year: Number(m[7]), month, day: Number(m[2]), hour: Number(m[3]), minute: Number(m[4]), second: Number(m[5]), micros: fraction(m[6]) };
    const entry: Entry = { __REALTIME_TIMESTAMP: this.micros(time), SYSLOG_IDENTIFIER: 'apache2', PRIORITY: level, MESSAGE: m[11]! };
    if (m[10] !== undefined) entry._PID = Number(m[10]);
    if (m[8] !== undefined) entry.APACHE_MODULE = m[8];
    return this.withHost(entry);
  }

  private withHost(entry: Entry): Entry {
    if (this.options.hostname !== undefined) entry._HOSTNAME = this.options.hostname;
    return entry;
  }

  /** µs since the epoch of a wall time, in its own offset, else the configured zone. */
  private micros(time: WallTime): number {
    let year = time.year;
    if (year === undefined) year = this.inferYear(time);
    const wall = Date.UTC(year, time.month, time.day, time.hour, time.minute, time.second);
    const offsetMs = time.offsetMinutes !== undefined ? time.offsetMinutes * 60_000 : this.zone(wall);
    return (wall - offsetMs) * 1000 + time.micros;
  }

  private inferYear(time: WallTime): number {
    // a log runs forward: a month smaller than the previous line's is the next year
    if (this.lastMonth >= 0 && time.month < this.lastMonth - 6) this.yearOffset++;
    this.lastMonth = time.month;
    if (this.options.year !== undefined) return this.options.year + this.yearOffset;
    const now = new Date();
    let year = now.getFullYear();
    // classic syslog has no year: a date more than a day ahead of now was written last year
    if (Date.UTC(year, time.month, time.day) > Date.now() + 86_400_000) year--;
    return year + this.yearOffset;
  }
}

/** Offset from UTC (ms) of a zone at a given wall time (ms, as if UTC). */
type ZoneOffset = (wallAsUtcMs: number) => number;

/** Reads `UTC`, `+02:00`/`-0530`, an IANA zone name, or (undefined) the local zone. Throws on an unknown zone. */
export function zoneOffset(zone: string | undefined): ZoneOffset {
  if (zone === undefined) {
    return (wall) => {
      const d = new Date(wall);
      // the local zone's offset at that wall time: build it as a local date
      const local = new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
      return wall - local.getTime();
    };
  }
  if (/^(UTC|GMT|Z)$/i.test(zone)) return () => 0;
  const fixed = offsetOf(zone);
  if (fixed !== undefined) return () => fixed * 60_000;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    throw new Error(`unknown time zone "${zone}" (an IANA name such as Europe/Paris, UTC, or an offset such as +02:00)`);
  }
  const offsetAt = (instant: number) => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - Math.floor(instant / 1000) * 1000;
  };
  return (wall) => {
    // the offset at the instant the wall time names; a second pass settles days where it changes
    const first = offsetAt(wall);
    const second = offsetAt(wall - first);
    return second;
  };
}

function offsetOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'Z') return 0;
  const m = /^([+-])(\d\d):?(\d\d)$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

function fraction(digits: string | undefined): number {
  if (!digits) return 0;
  return Number(digits.slice(0, 6).padEnd(6, '0'));
}

function addPriority(entry: Entry, pri: string | undefined): void {
  if (pri === undefined) return;
  const value = Number(pri);
  // PRI = facility * 8 + severity (RFC 5424 §6.2.1)
  entry.PRIORITY = value % 8;
  entry.SYSLOG_FACILITY = Math.floor(value / 8);
}

/** Whether a format name is one this module reads. */
export function isTextLogFormat(name: string): name is TextLogFormat | 'auto' {
  return name === 'auto' || name === 'line' || (TEXT_LOG_FORMATS as readonly string[]).includes(name);
}
