/**
 * The systemd journal file format (systemd's docs/JOURNAL_FILE_FORMAT.md), as far as reading
 * entries in order needs it. Every number is little-endian; objects are 8-byte aligned.
 */
export const SIGNATURE = 'LPKSHHRH';

export const enum Incompatible {
  CompressedXz = 1,
  CompressedLz4 = 2,
  KeyedHash = 4,
  CompressedZstd = 8,
  Compact = 16,
}
/** Every incompatible flag this reader understands; a file with another one is left to journalctl. */
export const KNOWN_INCOMPATIBLE = Incompatible.CompressedXz | Incompatible.CompressedLz4 | Incompatible.KeyedHash
  | Incompatible.CompressedZstd | Incompatible.Compact;

export const enum ObjectType { Data = 1, Field = 2, Entry = 3, DataHashTable = 4, FieldHashTable = 5, EntryArray = 6, Tag = 7 }
export const enum ObjectFlag { CompressedXz = 1, CompressedLz4 = 2, CompressedZstd = 4 }

/** Byte offsets in the file header. */
export const enum Header {
  IncompatibleFlags = 12,
  SeqnumId = 72,
  HeaderSize = 88,
  EntryCount = 152,
  EntryArrayOffset = 176,
  /** The header must reach at least this far (systemd ≥ 187) for the fields above to exist. */
  MinimumSize = 208,
}

/** Byte offsets in objects. */
export const enum Obj {
  Type = 0,
  Flags = 1,
  Size = 8,
  HeaderSize = 16,
  DataEntryCount = 56,
  DataPayload = 64,
  DataPayloadCompact = 72,
  EntrySeqnum = 16,
  EntryRealtime = 24,
  EntryMonotonic = 32,
  EntryBootId = 40,
  EntryXorHash = 56,
  EntryItems = 64,
  ArrayNext = 16,
  ArrayItems = 24,
}

/** A u64 as a number; NaN beyond 2^53 (no offset, timestamp or counter of a sane file gets there). */
export function readU64(buffer: Buffer, at: number): number {
  const high = buffer.readUInt32LE(at + 4);
  return high < 0x200000 ? high * 0x1_0000_0000 + buffer.readUInt32LE(at) : Number.NaN;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 128-bit id as journalctl prints it: 32 lowercase hex digits. */
export function idHex(buffer: Buffer, at: number): string {
  let text = '';
  for (let i = at; i < at + 16; i++) text += HEX[buffer[i]!];
  return text;
}

/** A u64 given as two u32 halves in lowercase hex without leading zeros, as journalctl prints cursors (Number#toString(16) is slow beyond 2^31). */
export function hex64(high: number, low: number): string {
  if (high === 0) return trimZeros(hex32(low));
  return trimZeros(hex32(high)) + hex32(low);
}

function hex32(value: number): string {
  return HEX[value >>> 24]! + HEX[(value >>> 16) & 255]! + HEX[(value >>> 8) & 255]! + HEX[value & 255]!;
}

function trimZeros(hex: string): string {
  let i = 0;
  while (i < 7 && hex.charCodeAt(i) === 0x30) i++;
  return i === 0 ? hex : hex.slice(i);
}
