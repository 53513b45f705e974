// `--log-format line`: any text log, one entry per line, MESSAGE being the line without its date
// (wherever the date stands: a syslog prefix, an access log's [20/Jan/2015:19:53:28 +0100], a
// MySQL `130324  0:04:00`). This is how fail2ban reads its logs, so its filters (and what
// `peruse import fail2ban` makes of them) see the same text; brackets around the date are kept.
import type { Entry } from '../modules/api.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

interface DateShape {
  re: RegExp;
  /** UTC milliseconds of a match (the zone, when written, is applied), or undefined when it makes no date. */
  time(m: RegExpExecArray, year: number): number | undefined;
}

const zoneMs = (z: string | undefined): number => {
  if (!z || z === 'Z') return 0;
  const m = /^([+-])(\d\d):?(\d\d)$/.exec(z);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
};
const month = (name: string) => MONTHS.indexOf(name.toLowerCase());
const ms = (frac: string | undefined) => (frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0);

const SHAPES: DateShape[] = [
  // 2026-12-02 13:48:28,388 / 2026-12-02T13:48:28.123+01:00
  { re: /(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?/,
    time: (m) => Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms(m[7])) - zoneMs(m[8]) },
  // [Wed ]Dec  2 13:48:28[.123456][ 2026]
  { re: /(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: (\d{4}))?/,
    time: (m, year) => month(m[1]!) < 0 ? undefined : Date.UTC(m[7] ? +m[7] : year, month(m[1]!), +m[2]!, +m[3]!, +m[4]!, +m[5]!, ms(m[6])) },
  // 20/Jan/2015:19:53:28 +0100 (access logs)
  { re: /(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d)(?: ([+-]\d{4}))?/,
    time: (m) => month(m[2]!) < 0 ? undefined : Date.UTC(+m[3]!, month(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!) - zoneMs(m[7]) },
  // 2015/01/20 19:53:28 (nginx error log)
  { re: /(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/,
    time: (m) => Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) },
  // 13-Jan-2014 12:34:56[.123]
  { re: /(\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?/,
    time: (m) => month(m[2]!) < 0 ? undefined : Date.UTC(+m[3]!, month(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!, ms(m[7])) },
  // Oct 27 2015 09:24:46 (macOS)
  { re: /([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{4}) (\d\d):(\d\d):(\d\d)/,
    time: (m) => month(m[1]!) < 0 ? undefined : Date.UTC(+m[3]!, month(m[1]!), +m[2]!, +m[4]!, +m[5]!, +m[6]!) },
  // Apr-07-13 07:08:36 (ASSP)
  { re: /([A-Z][a-z]{2})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/,
    time: (m) => month(m[1]!) < 0 ? undefined : Date.UTC(2000 + +m[3]!, month(m[1]!), +m[2]!, +m[4]!, +m[5]!, +m[6]!) },
  // 11-06-2013 02:09:40 (day first)
  { re: /(\d\d)-(\d\d)-(\d{4}) (\d\d):(\d\d):(\d\d)/,
    time: (m) => Date.UTC(+m[3]!, +m[2]! - 1, +m[1]!, +m[4]!, +m[5]!, +m[6]!) },
  // 2014:07:02-00:17:45 (DirectAdmin)
  { re: /(\d{4}):(\d\d):(\d\d)-(\d\d):(\d\d):(\d\d)/,
    time: (m) => Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) },
  // L 01/01/2014 - 01:25:17 (Half-Life servers)
  { re: /^L (\d\d)\/(\d\d)\/(\d{4}) - (\d\d):(\d\d):(\d\d)/,
    time: (m) => Date.UTC(+m[3]!, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!) },
  // 130324  0:04:00 (MySQL 5)
  { re: /^(\d\d)(\d\d)(\d\d) {1,2}(\d{1,2}):(\d\d):(\d\d)/,
    time: (m) => Date.UTC(2000 + +m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) },
  // 1394217605.123 (epoch seconds at the start)
  { re: /^(\d{10})(?:\.(\d+))?(?=\s)/, time: (m) => +m[1]! * 1000 + ms(m[2]) },
];

export class DatedLineParser {
  private lastMicros = 0;
  constructor(private readonly year: number = new Date().getUTCFullYear()) {}

  /** Always an entry: a line with no date keeps the previous line's time. */
  parse(line: string): Entry {
    let best: { at: number; length: number; micros: number | undefined } | undefined;
    for (const shape of SHAPES) {
      const m = shape.re.exec(line);
      if (!m) continue;
      if (best && (m.index > best.at || (m.index === best.at && m[0].length <= best.length))) continue;
      const t = shape.time(m, this.year);
      if (t === undefined || Number.isNaN(t)) continue;
      best = { at: m.index, length: m[0].length, micros: t * 1000 };
    }
    if (best?.micros !== undefined) this.lastMicros = best.micros;
    const message = best ? line.slice(0, best.at) + line.slice(best.at + best.length) : line;
    return { __REALTIME_TIMESTAMP: this.lastMicros, MESSAGE: message };
  }
}
