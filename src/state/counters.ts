import { detached } from '../text/detached.js';
import { ExpiryQueues } from './expiry-queue.js';
import { NamedMemories } from './named-memories.js';
import { TouchOrder } from './touch-order.js';

/** Default hard cap of keys per counter (config `limits.counterKeys`). */
export const DEFAULT_COUNTER_KEYS = 100_000;

/**
 * A counter key with its Python type: 5 and "5" are two keys, null is Python's None (Pyruse
 * counts an entry whose key field is None under None). Saved as such in the JSON snapshot.
 */
export type CounterKey = string | number | null;

/** The key of an entry value: text and numbers keep their type (True is 1, as a Python dict key), anything else its text. */
export function counterKeyOf(value: unknown): CounterKey {
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return String(value);
}

/** One key of one counter. Times are event times in µs. */
interface KeyCount {
  readonly key: CounterKey;
  /** Expiry of each raise that has a keepSeconds, ascending. */
  ticks: number[];
  /** Raises without keepSeconds: remembered until a reset. */
  forever: number;
  /** While event time is before this, the count stays 0 and raises are ignored. */
  graceUntil: number;
  /** Sequence number of the last touch: finds this key's live entry in the eviction order. */
  touched: number;
  /** Deleted from the counter: the queues' references to it are stale. */
  gone: boolean;
}

type SavedKey = [key: CounterKey, ticks: number[], forever: number, graceUntil: number];

/**
 * A counter category (e.g. "ssh"): one count per key (e.g. per IP address).
 * Every operation is O(1) amortised: expiries sit in FIFO queues, one per duration (event time
 * makes each queue sorted), and are popped as time passes; no operation sweeps all keys.
 * A touch order is kept beside the keys, so the hard cap evicts the least recently touched key.
 */
export class Counter {
  private readonly keys = new Map<CounterKey, KeyCount>();
  private readonly expiries = new ExpiryQueues<KeyCount>();
  private readonly order = new TouchOrder<KeyCount>();
  private now = 0;
  /** Bound once: popping expiries must not allocate a closure per entry. */
  private readonly reclaim = (count: KeyCount): void => {
    if (count.gone) return;
    dropExpiredTicks(count, this.now);
    if (count.ticks.length === 0 && count.forever === 0 && count.graceUntil <= this.now) this.delete(count);
  };

  constructor(private readonly maxKeys: () => number) {}

  get size(): number {
    return this.keys.size;
  }

  /** Adds `by` (default one) to `key`'s count and returns the new value (0 while a reset's grace lasts). */
  raise(key: CounterKey, nowMicros: number, keepMicros: number | undefined, by = 1): number {
    this.expire(nowMicros);
    const count = this.touch(key);
    if (count.graceUntil > nowMicros) return 0;
    dropExpiredTicks(count, nowMicros);
    if (keepMicros === undefined) count.forever += by;
    else {
      const deadline = nowMicros + keepMicros;
      for (let i = 0; i < by; i++) insertSorted(count.ticks, deadline);
      this.expiries.of(keepMicros).push(deadline, count);
    }
    return count.ticks.length + count.forever;
  }

  /** Sets `key`'s count to 0; with a grace period, raises are ignored until it ends. */
  reset(key: CounterKey, nowMicros: number, graceMicros: number | undefined): 0 {
    this.expire(nowMicros);
    if (graceMicros === undefined || graceMicros <= 0) {
      const count = this.keys.get(key);
      if (count !== undefined) this.delete(count);
      return 0;
    }
    const count = this.touch(key);
    count.ticks.length = 0;
    count.forever = 0;
    count.graceUntil = nowMicros + graceMicros;
    this.expiries.of(graceMicros).push(count.graceUntil, count);
    return 0;
  }

  /** The current value, without changing anything (tests, `peruse` introspection). */
  value(key: CounterKey, nowMicros: number): number {
    const count = this.keys.get(key);
    if (count === undefined || count.graceUntil > nowMicros) return 0;
    let live = 0;
    for (const deadline of count.ticks) if (deadline > nowMicros) live++;
    return live + count.forever;
  }

  snapshot(): SavedKey[] {
    const out: SavedKey[] = [];
    for (const [key, count] of this.keys) out.push([key, count.ticks.slice(), count.forever, count.graceUntil]);
    return out;
  }

  restore(saved: SavedKey[], nowMicros: number): void {
    const deadlines: [number, KeyCount][] = [];
    for (const [key, ticks, forever, graceUntil] of saved) {
      const live = ticks.filter((t) => t > nowMicros).sort((a, b) => a - b);
      const grace = graceUntil > nowMicros ? graceUntil : 0;
      if (live.length === 0 && forever === 0 && grace === 0) continue;
      if (this.keys.size >= this.maxKeys()) break;
      const count: KeyCount = { key, ticks: live, forever, graceUntil: grace, touched: 0, gone: false };
      count.touched = this.order.touch(count);
      this.keys.set(key, count);
      for (const t of live) deadlines.push([t, count]);
      if (grace) deadlines.push([grace, count]);
    }
    // restored expiries have mixed durations: one sorted queue of their own
    deadlines.sort((a, b) => a[0] - b[0]);
    const queue = this.expiries.of(-1);
    for (const [deadline, count] of deadlines) queue.push(deadline, count);
  }

  private touch(key: CounterKey): KeyCount {
    let count = this.keys.get(key);
    if (count === undefined) {
      if (this.keys.size >= this.maxKeys()) this.evictStalest();
      const kept = detached(key);
      count = { key: kept, ticks: [], forever: 0, graceUntil: 0, touched: 0, gone: false };
      this.keys.set(kept, count);
    }
    count.touched = this.order.touch(count);
    this.order.compact(this.keys.size);
    return count;
  }

  private delete(count: KeyCount): void {
    count.gone = true;
    this.keys.delete(count.key);
  }

  private evictStalest(): void {
    const count = this.order.shift();
    if (count !== undefined) this.delete(count);
  }

  private expire(nowMicros: number): void {
    if (nowMicros > this.now) this.now = nowMicros;
    this.expiries.popDue(this.now, this.reclaim);
  }
}

function dropExpiredTicks(count: KeyCount, nowMicros: number): void {
  const ticks = count.ticks;
  let expired = 0;
  while (expired < ticks.length && ticks[expired]! <= nowMicros) expired++;
  if (expired > 0) ticks.splice(0, expired);
}

/** Deadlines nearly always arrive in order: scan from the end. */
function insertSorted(ticks: number[], deadline: number): void {
  let i = ticks.length;
  while (i > 0 && ticks[i - 1]! > deadline) i--;
  if (i === ticks.length) ticks.push(deadline);
  else ticks.splice(i, 0, deadline);
}

/** Every counter category, by name, capped at `limits.counterKeys` keys each; saved with the journal cursor. */
export class CounterStore extends NamedMemories<Counter, SavedKey> {
  constructor() {
    super(DEFAULT_COUNTER_KEYS, (maxKeys) => new Counter(maxKeys), isSavedKey);
  }

  counter(name: string): Counter {
    return this.named(name);
  }
}

function isSavedKey(value: unknown): value is SavedKey {
  // a non-finite number cannot come back from JSON (it is saved as null): only finite numbers are keys
  const key: unknown = Array.isArray(value) ? value[0] : undefined;
  const validKey = typeof key === 'string' || key === null || (typeof key === 'number' && Number.isFinite(key));
  return Array.isArray(value) && value.length === 4 && validKey && Array.isArray(value[1])
    && typeof value[2] === 'number' && typeof value[3] === 'number';
}
