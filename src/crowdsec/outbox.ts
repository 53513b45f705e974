import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../state/atomic.js';
import { canonicalBanTarget } from '../state/bans.js';
import type { Logger } from '../system/log.js';

/** One ban waiting to reach LAPI. */
export interface OutboxItem {
  /** `peruse/SSH[3]`: the rule and step that banned. */
  scenario: string;
  /** Canonical address, or network (`2001:db8::/64`). */
  value: string;
  /** End of the ban, µs since the epoch (event time); 0 = permanent. */
  until: number;
  /** Event time of the ban, µs. */
  at: number;
  /** Set once the item was part of a POST: the batch may have reached LAPI even if no answer came back. */
  batch?: string;
  /** A POST carried it already (this run), or it was marked when the last run stopped. */
  sentOnce?: boolean;
}

const FORMAT_VERSION = 1;

/**
 * The bans not yet acknowledged by LAPI, in order, kept in one file of `storage` (atomic writes).
 * An item is written before the checkpoint that covers its journal entry (`flush` is called
 * when the checkpoint is saved) and marked with its batch before the POST that carries it, so a
 * restart — even after `kill -9` — neither loses an item nor sends one twice (a marked batch is
 * looked up in LAPI before it is sent again).
 */
export class Outbox {
  private items: OutboxItem[] = [];
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly file: string | undefined, private readonly log: Logger, private readonly writeDelayMs = 500) {}

  get size(): number {
    return this.items.length;
  }

  /** Reads the file; records that are not a valid address and scenario are dropped and counted. */
  load(): void {
    if (!this.file || !existsSync(this.file)) return;
    let data: { items?: unknown };
    try {
      data = JSON.parse(readFileSync(this.file, 'utf8')) as { items?: unknown };
    } catch (e) {
      this.log.error(`crowdsec: cannot read ${this.file}: ${(e as Error).message}; starting with an empty outbox`);
      return;
    }
    let rejected = 0;
    const loaded: OutboxItem[] = [];
    for (const raw of Array.isArray(data?.items) ? data.items as Record<string, unknown>[] : []) {
      const value = canonicalBanTarget(raw?.value);
      if (!value || typeof raw.scenario !== 'string' || typeof raw.until !== 'number' || typeof raw.at !== 'number' || raw.until < 0) {
        rejected++;
        continue;
      }
      loaded.push({ scenario: raw.scenario, value, until: raw.until, at: raw.at, batch: typeof raw.batch === 'string' ? raw.batch : undefined, sentOnce: typeof raw.batch === 'string' });
    }
    if (rejected > 0) this.log.warn(`crowdsec: ${this.file}: skipped ${rejected} records that are not a valid ban`);
    this.items = [...loaded, ...this.items];
    if (loaded.length > 0) this.log.info(`crowdsec: ${loaded.length} bans still to publish to LAPI`);
  }

  add(item: OutboxItem): void {
    this.items.push(item);
    this.changed();
  }

  /** The batch being sent (items already marked), or the next `max` unmarked items marked with `batch` now. */
  take(max: number, batch: () => string): OutboxItem[] {
    const marked = this.items.filter((i) => i.batch !== undefined);
    if (marked.length > 0) {
      const first = marked[0]!.batch;
      return marked.filter((i) => i.batch === first);
    }
    const id = batch();
    const taken = this.items.slice(0, max);
    for (const item of taken) item.batch = id;
    // the mark is on disk before the POST leaves: a crash now makes the next start look it up
    if (taken.length > 0) { this.dirty = true; this.flush(); }
    return taken;
  }

  /** Drops the items of `batch` (acknowledged, or found in LAPI). */
  done(batch: string): void {
    this.items = this.items.filter((i) => i.batch !== batch);
    this.dirty = true;
    this.flush();
  }

  /** Drops the items whose ban is over by `nowMicros`: LAPI has nothing to do with them any more. */
  dropExpired(nowMicros: number): number {
    const before = this.items.length;
    this.items = this.items.filter((i) => i.until === 0 || i.until > nowMicros);
    const dropped = before - this.items.length;
    if (dropped > 0) this.changed();
    return dropped;
  }

  /** Writes now if anything changed. Never throws: a failed write is logged and retried. */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (!this.file || !this.dirty) return;
    try {
      writeFileAtomic(this.file, JSON.stringify({ version: FORMAT_VERSION, items: this.items }) + '\n');
      this.dirty = false;
    } catch (e) {
      this.log.error(`crowdsec: cannot write ${this.file}: ${(e as Error).message}; will retry`);
      this.writeSoon();
    }
  }

  private changed(): void {
    if (!this.file) return;
    this.dirty = true;
    this.writeSoon();
  }

  private writeSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, this.writeDelayMs);
    this.timer.unref();
  }
}
