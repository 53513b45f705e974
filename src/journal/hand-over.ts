import { spawn } from 'node:child_process';

/**
 * Handing over to journalctl after the in-process reader gave up on a damaged journal file.
 * `--after-cursor` seeks by bisection in the file's entry arrays, and so does `--since`: on a
 * damaged file either may find nothing although reading the file in order (what journalctl
 * does from its head) goes on past the damage. So the seeks are tried in turn, and the first
 * one that reaches the last entry read (or one after it) wins; journalctl then starts there and
 * the entries up to that last one are skipped (a `--since` or head start reads them again).
 */

/** An entry's place as its cursor says (`s=;i=;b=;m=;t=;x=`, hex numbers). */
interface CursorPoint { seqnumId: string; seqnum: number; bootId: string; monotonic: number; realtime: number; xor: string }

export function parseCursorPoint(cursor: string): CursorPoint | undefined {
  const parts = new Map<string, string>();
  for (const part of cursor.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const hex = (key: string): number | undefined => {
    const value = parts.get(key);
    return value !== undefined && /^[0-9a-f]{1,13}$/.test(value) ? parseInt(value, 16) : undefined;
  };
  const seqnum = hex('i'), monotonic = hex('m'), realtime = hex('t');
  const seqnumId = parts.get('s'), bootId = parts.get('b');
  if (seqnum === undefined || monotonic === undefined || realtime === undefined || seqnumId === undefined || bootId === undefined) return undefined;
  return { seqnumId, seqnum, bootId, monotonic, realtime, xor: (parts.get('x') ?? '').padStart(16, '0') };
}

/** The order journalctl merges entries in (systemd 252): seqnum within a writer, monotonic time within a boot, realtime, xor hash. */
export function compareCursorPoints(a: CursorPoint, b: CursorPoint): number {
  if (a.seqnumId === b.seqnumId && a.seqnum !== b.seqnum) return a.seqnum < b.seqnum ? -1 : 1;
  if (a.bootId === b.bootId && a.monotonic !== b.monotonic) return a.monotonic < b.monotonic ? -1 : 1;
  if (a.realtime !== b.realtime) return a.realtime < b.realtime ? -1 : 1;
  return a.xor === b.xor ? 0 : a.xor < b.xor ? -1 : 1;
}

/** Lets entries through once one is past `cursor` (journalctl started before it). */
export class SkipThrough {
  skipped = 0;
  private readonly point: CursorPoint | undefined;
  private passed = false;

  constructor(readonly cursor: string) {
    this.point = parseCursorPoint(cursor);
  }

  /** False for an entry at or before the cursor, as long as none after it was seen. */
  passes(entryCursor: unknown): boolean {
    if (this.passed) return true;
    const point = typeof entryCursor === 'string' ? parseCursorPoint(entryCursor) : undefined;
    if (this.point === undefined || point === undefined || compareCursorPoints(point, this.point) > 0) {
      this.passed = true;
      return true;
    }
    this.skipped++;
    return false;
  }
}

/** Where journalctl resumes: right after the cursor, or from a time or the head skipping through it. */
export type HandOver = { after: string } | { since: string; skipThrough: string } | { head: true; skipThrough: string };

/**
 * The first start whose seek works: `--after-cursor` when `--cursor` finds the entry itself (then
 * an empty answer only means nothing came after it), else `--since` the cursor's second when that
 * reaches the entry or one after it, else the head. `argsFor` gives journalctl's non-following
 * arguments (selection included) for a start.
 */
export async function handOverAfter(journalctl: string, cursor: string, argsFor: (start: { after: string } | { since: string }) => string[]): Promise<HandOver> {
  const point = parseCursorPoint(cursor);
  if (point === undefined) return { after: cursor };
  const onCursor = argsFor({ after: cursor }).map((a) => (a.startsWith('--after-cursor=') ? `--cursor=${cursor}` : a));
  if (await reaches(journalctl, onCursor, point)) return { after: cursor };
  const since = `@${Math.floor(point.realtime / 1_000_000)}`;
  if (await reaches(journalctl, argsFor({ since }), point)) return { since, skipThrough: cursor };
  return { head: true, skipThrough: cursor };
}

/** Whether journalctl with these arguments prints the entry at `point` or one after it (it is stopped there). */
function reaches(journalctl: string, args: string[], point: CursorPoint): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(journalctl, [...args, '--output=export', '--output-fields=__CURSOR'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let carry = '';
    let found = false;
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (chunk: string) => {
      if (found) return;
      const lines = (carry + chunk).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('__CURSOR=')) continue;
        const entry = parseCursorPoint(line.slice('__CURSOR='.length));
        if (entry !== undefined && compareCursorPoints(entry, point) >= 0) {
          found = true;
          child.kill('SIGKILL');
          return;
        }
      }
    });
    child.on('close', () => resolve(found));
    child.on('error', () => resolve(false));
  });
}
