import { statSync } from 'node:fs';
import path from 'node:path';
import { parseIp, parseNetwork } from '../net/ip.js';
import { detached } from '../text/detached.js';
import type { Logger } from '../system/log.js';
import { writeFileAtomic } from './atomic.js';
import { moveAside, readRegularFile } from './safe-file.js';

/** One ban as the store keeps it. */
export interface BanRecord {
  set: string;
  /** Canonical address, or canonical IPv6 network (`2001:db8::/64`) for prefix bans. */
  ip: string;
  /** End of the ban in µs since the epoch (event time); 0 = permanent. */
  until: number;
  /** Label of the step that banned (`SSH[3]`), or where the ban came from (a LAPI decision's scenario). */
  reason: string;
  /** Absent for a ban of this host's own steps; `lapi:<origin>` for a decision pulled from CrowdSec's LAPI (`lapi:peruse`, `lapi:crowdsec`, `lapi:cscli` …). */
  origin?: string;
}

export interface BanStoreOptions {
  /** The store file; undefined keeps the store in memory only. */
  file?: string;
  /** Pyruse compat: Pyruse's file of the same backend, imported when `file` does not exist yet. */
  pyruseFile?: string;
  /** False in dry-run and check: read, never write. */
  persist: boolean;
  log: Logger;
  /** Time that decides what has expired (the entries' time in replay). */
  nowMicros: () => number;
  /** Rejects set names that could not reach the firewall safely (read from a file a human may edit). */
  checkSet: (set: string) => string | undefined;
  /** Changes within this window are written together: never one rewrite per ban under load. */
  writeDelayMs?: number;
}

const FORMAT_VERSION = 1;

/** A store file that could not be read whole: what was wrong, where the original is kept, what was saved from it. */
export interface StoreDamage {
  file: string;
  reason: string;
  /** The damaged file, renamed so nothing overwrites it (undefined when nothing may be written, or the rename failed). */
  keptAs?: string;
  recovered: number;
}

export const banKey = (set: string, ip: string) => `${set} ${ip}`;

/** A canonical ban address: an address, or a network for prefix bans; undefined when neither. */
export function canonicalBanTarget(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (!text.includes('/')) return parseIp(text)?.text;
  return text.length <= 49 ? parseNetwork(text)?.text : undefined;
}

/**
 * The live bans of one backend (Map "set ip" → ban), saved to one file with atomic writes
 * batched within a short window. Another process (`peruse bans unban`) may rewrite the file:
 * before writing, the store takes in what changed on disk since its own last write.
 */
export class BanStore {
  private readonly bans = new Map<string, BanRecord>();
  /** Keys put or removed here since the last write: those win over the file. */
  private readonly changed = new Set<string>();
  private loaded = false;
  private timer: NodeJS.Timeout | undefined;
  private lastWritten: string | undefined;
  /** Set when the file could not be read whole (truncated, garbage, wrong shape, invalid records). */
  damaged: StoreDamage | undefined;

  constructor(private readonly options: BanStoreOptions) {}

  /**
   * Reads the file (or imports Pyruse's) once; later calls do nothing. A damaged file is kept aside
   * and what parses of it is written back at once; only a file that is not a regular file throws
   * (FileRefusedError): it is never opened, so a FIFO cannot block.
   */
  load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const { file, pyruseFile } = this.options;
    if (!file) return;
    const own = this.readOwnFile(file);
    if (own) {
      for (const ban of own) {
        const key = banKey(ban.set, ban.ip);
        this.bans.set(key, ban);
        // recovered from a damaged file: written again in full, never left to a later partial write
        if (this.damaged) this.changed.add(key);
      }
      this.lastWritten = fileIdentity(file);
      if (this.damaged) this.flush();
      return;
    }
    const imported = pyruseFile ? this.readPyruseFile(pyruseFile) : undefined;
    if (imported) {
      for (const ban of imported) {
        const key = banKey(ban.set, ban.ip);
        this.bans.set(key, ban);
        this.changed.add(key);
      }
      this.options.log.notice(`bans: imported ${imported.length} live bans from Pyruse's ${pyruseFile}`);
      if (imported.length > 0) this.flush();
    }
  }

  get(set: string, ip: string): BanRecord | undefined {
    this.load();
    return this.bans.get(banKey(set, ip));
  }

  /** Records `ban`; returns the ban it replaces if that one still held at `nowMicros` (one lookup: the hot path of every ban). */
  put(ban: BanRecord, nowMicros = 0): BanRecord | undefined {
    this.load();
    const key = banKey(ban.set, ban.ip);
    const previous = this.bans.get(key);
    // kept for a day maybe: a copy of the address, not a view into the log line it was cut from
    this.bans.set(key, { ...ban, ip: detached(ban.ip) });
    this.markChanged(key);
    return previous && (previous.until === 0 || previous.until > nowMicros) ? previous : undefined;
  }

  remove(set: string, ip: string): boolean {
    this.load();
    const key = banKey(set, ip);
    const existed = this.bans.delete(key);
    if (existed) this.markChanged(key);
    return existed;
  }

  /** Every ban, expired ones included (they go at the next write). */
  all(): BanRecord[] {
    this.load();
    return [...this.bans.values()];
  }

  /** Bans still holding at `nowMicros`. */
  holding(nowMicros: number): BanRecord[] {
    return this.all().filter((b) => b.until === 0 || b.until > nowMicros);
  }

  /**
   * Writes now if anything changed (and persisting is on); true when the file holds every ban.
   * Never throws: a failed write is logged and retried later.
   */
  flush(): boolean {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const { file, persist } = this.options;
    if (!file || !persist || this.changed.size === 0) return true;
    try {
      this.takeInExternalChanges(file);
      const now = this.options.nowMicros();
      for (const [key, ban] of this.bans) if (ban.until !== 0 && ban.until <= now) this.bans.delete(key);
      writeFileAtomic(file, storeText(this.bans.values()));
      this.lastWritten = fileIdentity(file);
      this.changed.clear();
      return true;
    } catch (e) {
      this.options.log.error(`bans: cannot write ${file}: ${(e as Error).message}; will retry`);
      this.writeSoon();
      return false;
    }
  }

  private markChanged(key: string): void {
    // a store that never writes (dry-run, check) must not remember every key it was given
    if (!this.options.persist || !this.options.file) return;
    this.changed.add(key);
    this.writeSoon();
  }

  private writeSoon(): void {
    if (this.timer || !this.options.persist || !this.options.file) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, this.options.writeDelayMs ?? 500);
    // a pending write must not keep a finished process alive: stop() flushes
    this.timer.unref();
  }

  /** Someone else rewrote the file (an unban from the command line): keep their changes except where ours are newer. */
  private takeInExternalChanges(file: string): void {
    if (this.lastWritten === fileIdentity(file)) return;
    const onDisk = new Map<string, BanRecord>();
    const damagedBefore = this.damaged;
    for (const ban of this.readOwnFile(file) ?? []) onDisk.set(banKey(ban.set, ban.ip), ban);
    // what could be saved of a file damaged meanwhile is written back whole with ours
    if (this.damaged !== damagedBefore) for (const key of onDisk.keys()) this.changed.add(key);
    for (const key of [...this.bans.keys()]) if (!onDisk.has(key) && !this.changed.has(key)) this.bans.delete(key);
    for (const [key, ban] of onDisk) if (!this.changed.has(key)) this.bans.set(key, ban);
  }

  /** The bans of peruse's own file; undefined when it does not exist. A damaged file is handled by `recover`. */
  private readOwnFile(file: string): BanRecord[] | undefined {
    const text = readRegularFile(file, 'the ban store');
    if (text === undefined) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return this.recover(file, text, text.trim() === '' ? 'empty file' : (e as Error).message);
    }
    const list = typeof data === 'object' && data !== null && Array.isArray((data as { bans?: unknown }).bans) ? (data as { bans: unknown[] }).bans : undefined;
    if (!list) return this.recover(file, text, 'not an object with a "bans" list');
    const { records, rejected } = this.validRecords(list, ownFields);
    if (rejected > 0) return this.recover(file, text, `${rejected} of its ${list.length} records are not a valid set and address`);
    return records;
  }

  /**
   * A store that could not be read whole is never overwritten: it is renamed aside (when this
   * process may write), every complete record found in its text is kept, and it is said loudly.
   */
  private recover(file: string, text: string, reason: string): BanRecord[] {
    const candidates: unknown[] = [];
    for (const match of text.matchAll(/\{[^{}]*\}/g)) {
      try { candidates.push(JSON.parse(match[0])); } catch { /* a record cut by the truncation */ }
    }
    const { records } = this.validRecords(candidates, ownFields);
    let keptAs: string | undefined;
    let where = 'left in place (read-only)';
    if (this.options.persist) {
      try {
        keptAs = moveAside(file);
        where = `kept as ${keptAs}`;
      } catch (e) {
        where = `could not be moved aside (${(e as Error).message})`;
      }
    }
    this.damaged = { file, reason, keptAs, recovered: records.length };
    this.options.log.error(`BAN STORE DAMAGED: ${file} could not be read whole (${reason}); ${where}; recovered ${records.length} bans from it`);
    return records;
  }

  private readPyruseFile(file: string): BanRecord[] | undefined {
    const text = readRegularFile(file, "Pyruse's ban file");
    if (text === undefined) return undefined;
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      this.options.log.error(`bans: cannot read ${file}: ${(e as Error).message}; starting without its bans`);
      return [];
    }
    const now = this.options.nowMicros();
    // Pyruse compat: records {"IP", "nfSet", "timestamp"}; timestamp = end of ban in unix seconds, 0 = permanent
    const { records, rejected } = this.validRecords(Array.isArray(list) ? list : [], (raw) => ({
      set: raw.nfSet, ip: raw.IP, until: typeof raw.timestamp === 'number' ? Math.round(raw.timestamp * 1e6) : undefined,
      reason: 'imported from Pyruse',
    }));
    if (rejected > 0) this.options.log.warn(`bans: ${path.basename(file)}: skipped ${rejected} records that are not a valid set and address`);
    return records.filter((b) => b.until === 0 || b.until > now);
  }

  /** Keeps the records whose address and set are safe to hand to a firewall command. */
  private validRecords(list: unknown[], fields: RecordFields): { records: BanRecord[]; rejected: number } {
    const records: BanRecord[] = [];
    let rejected = 0;
    for (const item of list) {
      if (typeof item !== 'object' || item === null) { rejected++; continue; }
      const { set, ip, until, reason, origin } = fields(item as Record<string, unknown>);
      const target = canonicalBanTarget(ip);
      if (typeof set !== 'string' || this.options.checkSet(set) !== undefined || !target || until === undefined || until < 0) {
        rejected++;
        continue;
      }
      records.push(origin === undefined ? { set, ip: target, until, reason } : { set, ip: target, until, reason, origin });
    }
    return { records, rejected };
  }
}

type RecordFields = (raw: Record<string, unknown>) => { set: unknown; ip: unknown; until: number | undefined; reason: string; origin?: string };

/** peruse's own records: `until` in seconds (0 = permanent). */
const ownFields: RecordFields = (raw) => ({
  set: raw.set, ip: raw.ip, until: typeof raw.until === 'number' && Number.isFinite(raw.until * 1e6) ? Math.round(raw.until * 1e6) : undefined,
  reason: typeof raw.reason === 'string' ? raw.reason : '',
  origin: typeof raw.origin === 'string' ? raw.origin : undefined,
});

/** The store file's text, `{"version":1,"bans":[…]}`, piece by piece (written in chunks, see writeFileAtomic). */
function* storeText(bans: Iterable<BanRecord>): Generator<string> {
  yield `{"version":${FORMAT_VERSION},"bans":[`;
  let first = true;
  for (const b of bans) {
    yield (first ? '' : ',') + JSON.stringify({ set: b.set, ip: b.ip, until: b.until / 1e6, reason: b.reason, ...(b.origin === undefined ? {} : { origin: b.origin }) });
    first = false;
  }
  yield ']}\n';
}

/** Changes whenever the file is replaced (atomic writes rename a new inode in). */
function fileIdentity(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}
