// Times in abuse reports come in every shape. A time without a zone is refused unless the
// caller names the zone: guessing the server's zone is how a trace names the wrong user.
import { NatfwInputError } from './ipv4.js';

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;
const ZONED = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)$/;

function fractionMs(fraction: string | undefined): number {
  return fraction ? Number(`0.${fraction}`) * 1000 : 0;
}

/** Offset of `zone` from UTC at the instant `utcMs`, in ms (Europe/Amsterdam in summer → +7 200 000). */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const field = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'), field('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock time in `zone` → UTC ms (for a time in a DST gap or overlap, the first offset tried wins). */
export function zonedToUtcMs(wallAsUtcMs: number, zone: string): number {
  let guess = wallAsUtcMs - zoneOffsetMs(zone, wallAsUtcMs);
  guess = wallAsUtcMs - zoneOffsetMs(zone, guess);
  return guess;
}

/**
 * Parses `--time`: unix seconds (with decimals) or milliseconds (13+ digits), ISO-8601 with a
 * zone, or a naive ISO time when `zone` is given. Returns ms since the epoch.
 */
export function parseTraceTime(text: string, zone?: string): number {
  const trimmed = text.trim();
  if (/^\d{1,11}(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (/^\d{12,14}$/.test(trimmed)) return Number(trimmed);
  const zoned = ZONED.exec(trimmed);
  if (zoned) {
    const [, y, mo, d, h, mi, s, frac, offset] = zoned;
    const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)) + fractionMs(frac);
    if (offset === 'Z' || offset === 'z' || offset === 'UTC') return wall;
    const sign = offset!.startsWith('-') ? -1 : 1;
    const digits = offset!.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    return wall - sign * minutes * 60_000;
  }
  const naive = NAIVE.exec(trimmed);
  if (naive) {
    if (!zone) throw new NatfwInputError(`--time ${JSON.stringify(text)} has no zone: add one (Z, +01:00) or give --tz, e.g. --tz Europe/Amsterdam`);
    if (!isValidTimeZone(zone)) throw new NatfwInputError(`unknown time zone ${JSON.stringify(zone)}`);
    const [, y, mo, d, h, mi, s, frac] = naive;
    const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)) + fractionMs(frac);
    return zonedToUtcMs(wall, zone);
  }
  throw new NatfwInputError(`cannot read --time ${JSON.stringify(text)}: use ISO-8601 with a zone or unix seconds`);
}

/** Parses a duration in seconds: `300`, `300s`, `5m`, `2h`, `5d`. Returns ms. */
export function parseSecondsOption(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new NatfwInputError(`bad ${what}: ${JSON.stringify(text)} (seconds, or a number with s/m/h/d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit * 1000);
}
