import { readFileSync } from 'node:fs';
import { NatfwInputError } from './ipv4.js';

/** An inclusive range of ports: [lo, hi]. */
export interface PortRange {
  lo: number;
  hi: number;
}

export function formatPortRange(range: PortRange): string {
  return range.lo === range.hi ? String(range.lo) : `${range.lo}-${range.hi}`;
}

/** Parses `A-B` or a single port `P` (as `ip_local_reserved_ports` writes them). */
export function parsePortRange(text: string, what = 'port range'): PortRange {
  const match = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(text);
  const lo = match ? Number(match[1]) : NaN;
  const hi = match ? Number(match[2] ?? match[1]) : NaN;
  if (!(lo >= 0 && hi <= 65535 && lo <= hi)) throw new NatfwInputError(`bad ${what}: ${JSON.stringify(text)} (expected A-B with 0 ≤ A ≤ B ≤ 65535)`);
  return { lo, hi };
}

/** `ip_local_reserved_ports` is a comma list of ports and ranges, possibly empty. */
export function parsePortList(text: string, what: string): PortRange[] {
  return text.split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => parsePortRange(part, what));
}

export type FileReader = (path: string) => string;
const readProcFile: FileReader = (path) => readFileSync(path, 'utf8');

/**
 * `--exclude auto`: the ports the kernel hands out to the host's own connections. Blocks inside
 * them would make the server's own traffic look like a VPN user's (seed problem 4).
 */
export function readAutoExclusions(readFile: FileReader = readProcFile): PortRange[] {
  const [lo, hi] = readFile('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
  if (lo === undefined || hi === undefined || !Number.isInteger(lo) || !Number.isInteger(hi)) {
    throw new NatfwInputError('cannot read net.ipv4.ip_local_port_range');
  }
  const exclusions: PortRange[] = [{ lo, hi }];
  let reserved = '';
  try {
    reserved = readFile('/proc/sys/net/ipv4/ip_local_reserved_ports');
  } catch {
    // older kernels have no reserved-ports knob: nothing reserved
  }
  exclusions.push(...parsePortList(reserved, 'ip_local_reserved_ports entry'));
  return exclusions;
}

/**
 * The pool: [range] minus every exclusion, as segments ordered by descending upper bound,
 * the order in which allocation cuts blocks (from the top of the port space down).
 */
export function poolSegments(range: PortRange, exclusions: readonly PortRange[]): PortRange[] {
  const sorted = [...exclusions].sort((a, b) => a.lo - b.lo);
  const ascending: PortRange[] = [];
  let next = range.lo;
  for (const exclusion of sorted) {
    if (exclusion.hi < next) continue;
    if (exclusion.lo > range.hi) break;
    if (exclusion.lo > next) ascending.push({ lo: next, hi: Math.min(exclusion.lo - 1, range.hi) });
    next = Math.max(next, exclusion.hi + 1);
  }
  if (next <= range.hi) ascending.push({ lo: next, hi: range.hi });
  return ascending.reverse();
}
