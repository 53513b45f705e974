import { detached } from '../text/detached.js';
import type { Persistent } from './state.js';

/** The fields a dnatReplace can match on, in the canonical order of index keys. */
export const DNAT_MATCH_FIELDS = ['addr', 'port', 'daddr', 'dport'] as const;
export type DnatMatchField = (typeof DNAT_MATCH_FIELDS)[number];

/** Default hard cap of live mappings (config `limits.dnatMappings`). */
export const DEFAULT_DNAT_MAPPINGS = 1_000_000;

/** What a capture records: the real client (saddr, sport) behind the proxy's (addr, port) towards (daddr, dport). */
export interface DnatValues {
  saddr: unknown;
  sport: unknown;
  /** Match values, as strings (undefined when the capture had none). */
  addr: string | undefined;
  port: string | undefined;
  daddr: string | undefined;
  dport: string | undefined;
}

interface Mapping extends DnatValues {
  /** Event time of the capture (µs). */
  time: number;
  /** Power of two (seconds) the lifetime was rounded up to. */
  bits: number;
  /** Alive while event time is before this (µs). */
  deadline: number;
  removed: boolean;
}

interface Bucket {
  number: number;
  mappings: Mapping[];
  head: number;
}

/** Mappings captured with the same rounded lifetime, in time buckets of 2^bits seconds (oldest first). */
class Generation {
  readonly buckets: Bucket[] = [];
  head = 0;
  constructor(readonly bits: number, readonly spanMicros: number) {}

  oldest(): Mapping | undefined {
    for (let b = this.head; b < this.buckets.length; b++) {
      const bucket = this.buckets[b]!;
      while (bucket.head < bucket.mappings.length) {
        const m = bucket.mappings[bucket.head]!;
        if (!m.removed) return m;
        bucket.head++;
      }
    }
    return undefined;
  }
}

/** One hash index: the values of a fixed set of match fields → the newest mapping having them. */
export class DnatIndex {
  readonly map = new Map<string, Mapping>();
  constructor(readonly fields: readonly DnatMatchField[]) {}

  /** The index key of a mapping or an entry's values; undefined when one of the fields is missing. */
  keyOf(values: Readonly<Record<DnatMatchField, string | undefined>>): string | undefined {
    const fields = this.fields;
    const first = values[fields[0]!];
    if (first === undefined) return undefined;
    if (fields.length === 1) return first;
    let key = first;
    for (let i = 1; i < fields.length; i++) {
      const value = values[fields[i]!];
      if (value === undefined) return undefined;
      key += '\u0000' + value;
    }
    return key;
  }

  /** The newest live mapping for `key` at event time `nowMicros`. */
  lookup(key: string, nowMicros: number): DnatValues | undefined {
    const mapping = this.map.get(key);
    return mapping !== undefined && !mapping.removed && nowMicros < mapping.deadline ? mapping : undefined;
  }
}

/**
 * The number of bits b such that 2^b is the smallest power of two above keepSeconds.
 * Pyruse compat: rounded up to the *next* power of two (4 to 7 give 8, 64 gives 128, 63 gives 64).
 */
export function lifetimeBits(keepSeconds: number): number {
  let bits = 0;
  while (2 ** bits <= keepSeconds) bits++;
  return bits;
}

/**
 * The DNAT table shared by every dnatCapture and dnatReplace.
 * Pyruse compat: a mapping captured at t is kept while floor(now/2^b) <= floor(t/2^b) + 1, where
 * 2^b is keepSeconds rounded up to a power of two (so between 1x and 4x keepSeconds).
 * Capture and lookup are O(1): one hash index per distinct set of match fields, registered at
 * config time by the dnatReplace steps; expired buckets are dropped whole as time passes.
 */
export class DnatTable implements Persistent {
  private readonly indexes = new Map<string, DnatIndex>();
  private indexList: DnatIndex[] = [];
  private readonly generations = new Map<number, Generation>();
  private live = 0;
  private maxMappings = DEFAULT_DNAT_MAPPINGS;

  get size(): number {
    return this.live;
  }

  limitMappings(max: number | undefined): void {
    if (max !== undefined && max >= 1) this.maxMappings = max;
  }

  /** The index for this set of match fields (created once; call at config time). */
  index(fields: readonly DnatMatchField[]): DnatIndex {
    const canonical = DNAT_MATCH_FIELDS.filter((f) => fields.includes(f));
    if (canonical.length === 0) throw new Error('a DNAT index needs at least one match field');
    const name = canonical.join(',');
    let index = this.indexes.get(name);
    if (index === undefined) {
      index = new DnatIndex(canonical);
      this.indexes.set(name, index);
      this.indexList = [...this.indexes.values()];
    }
    return index;
  }

  /** Records a mapping captured at event time `nowMicros`, kept per `bits` (see lifetimeBits). */
  capture(values: DnatValues, nowMicros: number, bits: number): void {
    const generation = this.generation(bits);
    this.dropExpired(generation, nowMicros);
    if (this.live >= this.maxMappings) this.evictOldest();
    const bucketNumber = Math.floor(nowMicros / generation.spanMicros);
    let bucket = generation.buckets[generation.buckets.length - 1];
    // an entry slightly out of order joins the newest bucket: it lives a little longer, never shorter
    if (bucket === undefined || generation.head === generation.buckets.length || bucket.number < bucketNumber) {
      bucket = { number: bucketNumber, mappings: [], head: 0 };
      generation.buckets.push(bucket);
    }
    const mapping: Mapping = {
      saddr: detached(values.saddr), sport: detached(values.sport), addr: detached(values.addr), port: detached(values.port),
      daddr: detached(values.daddr), dport: detached(values.dport),
      time: nowMicros, bits, deadline: (bucket.number + 2) * generation.spanMicros, removed: false,
    };
    bucket.mappings.push(mapping);
    this.live++;
    for (const index of this.indexList) {
      const key = index.keyOf(mapping);
      // the newest mapping wins
      if (key !== undefined) index.map.set(key, mapping);
    }
  }

  snapshot(): unknown[] {
    const out: unknown[] = [];
    for (const generation of this.generations.values()) {
      for (let b = generation.head; b < generation.buckets.length; b++) {
        const bucket = generation.buckets[b]!;
        for (let i = bucket.head; i < bucket.mappings.length; i++) {
          const m = bucket.mappings[i]!;
          if (!m.removed) out.push([m.saddr, m.sport, m.addr, m.port, m.daddr, m.dport, m.time, m.bits]);
        }
      }
    }
    return out;
  }

  restore(data: unknown, nowMicros: number): void {
    if (!Array.isArray(data)) return;
    const saved = data.filter((d): d is [unknown, unknown, string | null, string | null, string | null, string | null, number, number] =>
      Array.isArray(d) && d.length === 8 && typeof d[6] === 'number' && typeof d[7] === 'number');
    saved.sort((a, b) => a[6] - b[6]);
    const opt = (v: string | null) => (typeof v === 'string' ? v : undefined);
    for (const [saddr, sport, addr, port, daddr, dport, time, bits] of saved) {
      const span = 2 ** bits * 1_000_000;
      if (nowMicros >= (Math.floor(time / span) + 2) * span) continue;
      this.capture({ saddr, sport: sport ?? undefined, addr: opt(addr), port: opt(port), daddr: opt(daddr), dport: opt(dport) }, time, bits);
    }
  }

  private generation(bits: number): Generation {
    let generation = this.generations.get(bits);
    if (generation === undefined) {
      generation = new Generation(bits, 2 ** bits * 1_000_000);
      this.generations.set(bits, generation);
    }
    return generation;
  }

  /** Drops the buckets no mapping of which can be alive at `nowMicros`. */
  private dropExpired(generation: Generation, nowMicros: number): void {
    const current = Math.floor(nowMicros / generation.spanMicros);
    while (generation.head < generation.buckets.length) {
      const bucket = generation.buckets[generation.head]!;
      if (bucket.number + 1 >= current) break;
      for (let i = bucket.head; i < bucket.mappings.length; i++) this.remove(bucket.mappings[i]!);
      generation.buckets[generation.head] = undefined as unknown as Bucket;
      generation.head++;
    }
    if (generation.head > 64 && generation.head * 2 > generation.buckets.length) {
      generation.buckets.splice(0, generation.head);
      generation.head = 0;
    }
  }

  private evictOldest(): void {
    let oldest: Mapping | undefined;
    for (const generation of this.generations.values()) {
      const candidate = generation.oldest();
      if (candidate !== undefined && (oldest === undefined || candidate.time < oldest.time)) oldest = candidate;
    }
    if (oldest !== undefined) this.remove(oldest);
  }

  private remove(mapping: Mapping): void {
    if (mapping.removed) return;
    mapping.removed = true;
    this.live--;
    for (const index of this.indexList) {
      const key = index.keyOf(mapping);
      // a newer mapping may own the key now: leave it
      if (key !== undefined && index.map.get(key) === mapping) index.map.delete(key);
    }
  }
}
