/** Node's unchecked slice decoders (present since v0.x, not in @types/node): toString() adds argument checks per field. */
export type SliceableBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/**
 * A plain decimal integer read straight from the bytes (timestamps, PIDs: most numeric fields),
 * or -1 for anything else, which then takes the string path of typedValue (same result, slower).
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
