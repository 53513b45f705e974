/** Node's unchecked slice decoders (present since v0.x, not in @types/node): toString() adds argument checks per field. */
export type SliceableBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/**
 * A plain decimal integer read straight from the bytes (timestamps, PIDs: most numeric fields),
 * or -1 for anything else, which then takes the string path, numberOrText (same result, slower).
 */
export function parseDigits(bytes: Uint8Array, start: number, end: number): number {
  if (start === end || end - start > 16) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= Number.MAX_SAFE_INTEGER ? value : -1;
}

/** The hash FieldNameTable expects of `b[start, end)`, for a caller that did not compute it while scanning. */
export function nameHash(b: Uint8Array, start: number, end: number): number {
  let hash = 0;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + b[i]!) | 0;
  return hash;
}

/** A field name read from bytes, with what the entry needs of it. */
export interface FieldName {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly hash: number;
  readonly numeric: boolean;
  readonly wanted: boolean;
}

const NAME_BUCKETS = 1024; // power of two
/** Distinct names remembered; past that a name is made again each time (hostile input cannot grow memory). */
const MAX_NAMES = 4096;

/**
 * Field names met in a byte stream, found again from their bytes: the same few dozen names repeat
 * in every entry, and handing out one string per name (instead of a fresh one per field) makes the
 * property store a fast keyed access and skips the type lookup.
 */
export class FieldNameTable<F extends FieldName> {
  private buckets: (Slot<F> | undefined)[] = [];
  private count = 0;

  /** `make`: the record of a name not met yet. */
  constructor(private readonly make: (name: string, bytes: Uint8Array, hash: number) => F) {
    this.clear();
  }

  get size(): number {
    return this.count;
  }

  /** The name of `b[start, end)`, whose hash is `hash` (`Math.imul(hash, 31) + byte`, byte after byte). */
  find(b: Uint8Array, start: number, end: number, hash: number): F {
    const length = end - start;
    const bucket = hash & (NAME_BUCKETS - 1);
    for (let slot = this.buckets[bucket]; slot !== undefined; slot = slot.next) {
      const field = slot.field;
      if (field.hash !== hash || field.bytes.length !== length) continue;
      let k = 0;
      while (k < length && field.bytes[k] === b[start + k]) k++;
      if (k === length) return field;
    }
    const field = this.make((b as SliceableBuffer).latin1Slice(start, end), Uint8Array.from(b.subarray(start, end)), hash);
    if (this.count < MAX_NAMES) {
      this.count++;
      this.buckets[bucket] = { field, next: this.buckets[bucket] };
    }
    return field;
  }

  /** Forgets every name (what the caller records of a name changed). */
  clear(): void {
    this.buckets = new Array<Slot<F> | undefined>(NAME_BUCKETS).fill(undefined);
    this.count = 0;
  }
}

interface Slot<F> { readonly field: F; readonly next: Slot<F> | undefined }
