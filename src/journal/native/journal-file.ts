import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decompress as zstdDecompress } from 'fzstd';
import type { Entry } from '../../modules/api.js';
import { numberOrText } from '../fields.js';
import { nameHash, type FieldName, type FieldNameTable, type SliceableBuffer } from '../bytes.js';
import { Header, hex64, idHex, Incompatible, KNOWN_INCOMPATIBLE, Obj, ObjectFlag, ObjectType, readU64, SIGNATURE } from './format.js';

/** The native reader cannot (or can no longer) read exactly what journalctl would: journalctl takes over. */
export class NativeUnsupported extends Error {}

/** What the workflow wants from data objects, shared by every file of a journal. */
export interface FieldDecoder {
  decode: (bytes: Uint8Array) => string;
  /** Data field names met, with whether anybody reads them. */
  names: FieldNameTable<FieldName>;
}
/** A decoded data object: null when nobody reads its field (or it is `_BOOT_ID`, taken from the entry header). */
type Field = { name: string; value: string | number } | null;

/** Per open file, allocated on first read and dropped at the file's end: many archives stay cheap. */
const NEAR_WINDOW = 256 << 10;
/** A forward refill starts this far before the object: an entry's new data objects were written just before it. */
const NEAR_BACKTRACK = 64 << 10;
const FAR_WINDOW = 16 << 10;
const MAX_OBJECT = 768 << 20; // journald's DATA_SIZE_MAX; an object claiming more is corruption
const MAX_CACHED_FIELDS = 100_000;
const EQUALS = 0x3d;
const EMPTY = Buffer.alloc(0);

/**
 * One journal file, read with positioned reads (no mmap in Node): the entries of its main entry-array
 * chain, in file order, up to the entry count its header had when it was opened (a snapshot that
 * stays consistent while journald appends). Every offset and object is checked before it is used;
 * anything unexpected throws NativeUnsupported rather than guess.
 */
export class JournalFile {
  readonly seqnumId: string;
  readonly entryCount: number;
  private readonly compact: boolean;
  private readonly fd: number;
  private readonly size: number;
  /** The main entry-array chain: where each array is, and the index of its first entry. */
  private readonly arrays: { offset: number; first: number; count: number }[] = [];
  private loadedArray = -1;
  private arrayItems: Buffer = Buffer.alloc(0);
  private near: Buffer = EMPTY;
  private nearStart = 0;
  private nearEnd = 0;
  private far: Buffer = EMPTY;
  private farStart = 0;
  private farEnd = 0;
  /** Set by view(): the buffer holding the object asked for. */
  private viewed: Buffer = this.near;
  private readonly fields = new Map<number, Field>();
  private itemOffsets = new Float64Array(64);

  // the current entry (this file's candidate when journals are merged)
  index = -1;
  seqnum = 0;
  realtime = 0;
  monotonic = 0;
  bootId = '';
  xorHigh = 0;
  xorLow = 0;
  /** The halves of the current entry's u64 counters, for its cursor. */
  readonly halves = new Uint32Array(6);
  private entryOffset = 0;
  private entryItems = 0;
  /** The current boot id as four words: most entries share the previous one's, and its hex string. */
  private readonly bootWords = new Int32Array(4);

  private constructor(readonly path: string, private readonly decoder: FieldDecoder) {
    this.fd = openSync(path, 'r');
    try {
      const header = this.read(0, 272);
      // the size after the header: every object the header's entries use was written before it
      this.size = fstatSync(this.fd).size;
      if (header.length < Header.MinimumSize || header.toString('latin1', 0, 8) !== SIGNATURE) throw this.unsupported('not a journal file');
      const incompatible = header.readUInt32LE(Header.IncompatibleFlags);
      if ((incompatible & ~KNOWN_INCOMPATIBLE) !== 0) throw this.unsupported(`unknown incompatible flags 0x${incompatible.toString(16)}`);
      this.compact = (incompatible & Incompatible.Compact) !== 0;
      const headerSize = readU64(header, Header.HeaderSize);
      if (!(headerSize >= Header.MinimumSize && headerSize <= this.size)) throw this.unsupported('bad header size');
      this.seqnumId = idHex(header, Header.SeqnumId);
      this.entryCount = readU64(header, Header.EntryCount);
      if (!(this.entryCount >= 0)) throw this.unsupported('bad entry count');
      this.loadChain(readU64(header, Header.EntryArrayOffset));
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  static open(path: string, decoder: FieldDecoder): JournalFile {
    try {
      return new JournalFile(path, decoder);
    } catch (error) {
      if (error instanceof NativeUnsupported) throw error;
      throw new NativeUnsupported(`${path}: ${(error as Error).message}`);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Drops the buffers and decoded fields (the merge is done with this file); reading again reallocates them. */
  release(): void {
    this.near = this.far = this.arrayItems = EMPTY;
    this.nearStart = this.nearEnd = this.farStart = this.farEnd = 0;
    this.loadedArray = -1;
    this.fields.clear();
  }

  /** A new set of wanted fields: what was decoded (or skipped) under the old one is forgotten. */
  forgetFields(): void {
    this.fields.clear();
  }

  /** The current entry's cursor, as journalctl prints it. */
  cursor(): string {
    const h = this.halves;
    return `s=${this.seqnumId};i=${hex64(h[1]!, h[0]!)};b=${this.bootId};m=${hex64(h[5]!, h[4]!)};t=${hex64(h[3]!, h[2]!)};x=${hex64(this.xorHigh, this.xorLow)}`;
  }

  /** Loads entry `index` (its header) as the current entry; false past the last entry. */
  moveTo(index: number): boolean {
    if (index >= this.entryCount) return false;
    const offset = this.entryOffsetAt(index);
    let at = this.view(offset, Obj.EntryItems, ObjectType.Entry);
    const size = readU64(this.viewed, at + Obj.Size);
    const itemSize = this.compact ? 4 : 16;
    if ((size - Obj.EntryItems) % itemSize !== 0) throw this.unsupported(`entry at ${offset}: bad size ${size}`);
    at = this.view(offset, size, ObjectType.Entry);
    const buffer = this.viewed;
    const halves = this.halves;
    for (let i = 0; i < 6; i++) halves[i] = buffer.readUInt32LE(at + Obj.EntrySeqnum + i * 4);
    if (halves[1]! >= 0x200000 || halves[3]! >= 0x200000 || halves[5]! >= 0x200000) throw this.unsupported(`entry at ${offset}: counter beyond 2^53`);
    this.seqnum = halves[1]! * 0x1_0000_0000 + halves[0]!;
    this.realtime = halves[3]! * 0x1_0000_0000 + halves[2]!;
    this.monotonic = halves[5]! * 0x1_0000_0000 + halves[4]!;
    const boot = at + Obj.EntryBootId;
    const words = this.bootWords;
    const w0 = buffer.readInt32LE(boot), w1 = buffer.readInt32LE(boot + 4), w2 = buffer.readInt32LE(boot + 8), w3 = buffer.readInt32LE(boot + 12);
    if (this.bootId === '' || w0 !== words[0] || w1 !== words[1] || w2 !== words[2] || w3 !== words[3]) {
      words[0] = w0; words[1] = w1; words[2] = w2; words[3] = w3;
      this.bootId = idHex(buffer, boot);
    }
    this.xorLow = buffer.readUInt32LE(at + Obj.EntryXorHash);
    this.xorHigh = buffer.readUInt32LE(at + Obj.EntryXorHash + 4);
    this.index = index;
    this.entryOffset = offset;
    this.entryItems = (size - Obj.EntryItems) / itemSize;
    return true;
  }

  /** Index of the first entry whose seqnum is above `seqnum` (entryCount if none): seqnums rise strictly within a file. */
  firstAfterSeqnum(seqnum: number): number {
    let low = 0;
    let high = this.entryCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      this.moveTo(middle);
      if (this.seqnum > seqnum) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Adds the current entry's data fields to `entry` in item order; a repeated field keeps its first value (as export parsing does). */
  addFields(entry: Entry): void {
    const count = this.entryItems;
    if (this.itemOffsets.length < count) this.itemOffsets = new Float64Array(count * 2);
    const offsets = this.itemOffsets;
    // the item offsets are copied out first: reading data objects may move the window
    let at = this.view(this.entryOffset, Obj.EntryItems + count * (this.compact ? 4 : 16), ObjectType.Entry) + Obj.EntryItems;
    const buffer = this.viewed;
    if (this.compact) for (let i = 0; i < count; i++, at += 4) offsets[i] = buffer.readUInt32LE(at);
    else for (let i = 0; i < count; i++, at += 16) offsets[i] = readU64(buffer, at);
    for (let i = 0; i < count; i++) {
      const offset = offsets[i]!;
      let field = this.fields.get(offset);
      if (field === undefined) field = this.readField(offset);
      if (field !== null && entry[field.name] === undefined) entry[field.name] = field.value;
    }
  }

  private readField(offset: number): Field {
    let at = this.view(offset, Obj.DataPayload, ObjectType.Data);
    const size = readU64(this.viewed, at + Obj.Size);
    const start = this.compact ? Obj.DataPayloadCompact : Obj.DataPayload;
    if (!(size > start)) throw this.unsupported(`data object at ${offset}: bad size ${size}`);
    at = this.view(offset, size, ObjectType.Data);
    let buffer = this.viewed as SliceableBuffer;
    const shared = readU64(buffer, at + Obj.DataEntryCount) > 1;
    const flags = buffer[at + Obj.Flags]!;
    let begin = at + start;
    let end = at + size;
    if ((flags & (ObjectFlag.CompressedXz | ObjectFlag.CompressedLz4 | ObjectFlag.CompressedZstd)) !== 0) {
      if (flags !== ObjectFlag.CompressedZstd) throw this.unsupported(`data object at ${offset}: XZ or LZ4 compression`);
      let plain: Uint8Array;
      try {
        plain = zstdDecompress(buffer.subarray(begin, end));
      } catch (error) {
        throw this.unsupported(`data object at ${offset}: ${(error as Error).message}`);
      }
      buffer = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength) as SliceableBuffer;
      begin = 0;
      end = plain.byteLength;
    }
    const equals = buffer.indexOf(EQUALS, begin);
    if (equals < 0 || equals >= end) throw this.unsupported(`data object at ${offset}: no '=' (journalctl refuses the entry too)`);
    const field = this.fieldOf(buffer, begin, equals, end);
    if (shared) {
      if (this.fields.size >= MAX_CACHED_FIELDS) this.fields.clear();
      this.fields.set(offset, field);
    }
    return field;
  }

  private fieldOf(buffer: SliceableBuffer, begin: number, equals: number, end: number): Field {
    const name = this.decoder.names.find(buffer, begin, equals, nameHash(buffer, begin, equals));
    if (!name.wanted) return null;
    // lenient decoding marks every invalid sequence with U+FFFD: without one, it equals the strict decoder's answer
    let text = buffer.utf8Slice(equals + 1, end);
    if (text.includes('\uFFFD')) text = this.decoder.decode(buffer.subarray(equals + 1, end));
    return { name: name.name, value: name.numeric ? numberOrText(text) : text };
  }

  private entryOffsetAt(index: number): number {
    let k = this.loadedArray;
    const arrays = this.arrays;
    if (k < 0 || index < arrays[k]!.first || index >= arrays[k]!.first + arrays[k]!.count) {
      let low = 0;
      let high = arrays.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >>> 1;
        if (arrays[middle]!.first <= index) low = middle;
        else high = middle - 1;
      }
      k = low;
      const array = arrays[k];
      if (array === undefined || index >= array.first + array.count) throw this.unsupported(`entry ${index} is in no entry array`);
      const itemBytes = array.count * (this.compact ? 4 : 8);
      this.arrayItems = this.read(array.offset + Obj.ArrayItems, itemBytes);
      if (this.arrayItems.length < itemBytes) throw this.unsupported(`entry array at ${array.offset} cut short`);
      this.loadedArray = k;
    }
    const slot = index - arrays[k]!.first;
    const offset = this.compact ? this.arrayItems.readUInt32LE(slot * 4) : readU64(this.arrayItems, slot * 8);
    if (!this.plausible(offset)) throw this.unsupported(`entry ${index}: bad offset ${offset}`);
    return offset;
  }

  /** Walks the main entry-array chain once: where each array is and how many of its items are entries. */
  private loadChain(first: number): void {
    let offset = first;
    let counted = 0;
    const itemSize = this.compact ? 4 : 8;
    while (counted < this.entryCount) {
      if (!this.plausible(offset) || this.arrays.length > 4096) throw this.unsupported(`entry array chain broken at ${offset}`);
      const head = this.read(offset, Obj.ArrayItems);
      if (head.length < Obj.ArrayItems || head[Obj.Type] !== ObjectType.EntryArray) throw this.unsupported(`no entry array at ${offset}`);
      const size = readU64(head, Obj.Size);
      if (!(size >= Obj.ArrayItems && offset + size <= this.size)) throw this.unsupported(`entry array at ${offset}: bad size`);
      const count = Math.min(Math.floor((size - Obj.ArrayItems) / itemSize), this.entryCount - counted);
      this.arrays.push({ offset, first: counted, count });
      counted += count;
      offset = readU64(head, Obj.ArrayNext);
    }
  }

  private plausible(offset: number): boolean {
    return offset > 0 && offset % 8 === 0 && offset + Obj.HeaderSize <= this.size;
  }

  /**
   * Makes bytes [offset, offset+length) of an object of type `type` readable; returns their position
   * in `this.viewed`. Forward reads go through the near window; a jump back (a field shared with an
   * older entry) through the small far window, so the near one keeps its place.
   */
  private view(offset: number, length: number, type: ObjectType): number {
    if (!(length <= MAX_OBJECT) || !this.plausible(offset) || offset + length > this.size) throw this.unsupported(`object at ${offset}: bad bounds`);
    let at: number;
    let end: number; // file offset where the viewed bytes end
    if (offset >= this.nearStart && offset + length <= this.nearEnd) {
      this.viewed = this.near;
      at = offset - this.nearStart;
      end = this.nearEnd;
    } else if (offset >= this.farStart && offset + length <= this.farEnd) {
      this.viewed = this.far;
      at = offset - this.farStart;
      end = this.farEnd;
    } else if (offset < this.nearStart - NEAR_BACKTRACK && length <= FAR_WINDOW) {
      if (this.far.length === 0) this.far = Buffer.allocUnsafe(FAR_WINDOW);
      this.farStart = offset;
      this.farEnd = end = offset + readSync(this.fd, this.far, 0, Math.min(FAR_WINDOW, this.size - offset), offset);
      this.viewed = this.far;
      at = 0;
    } else if (length + NEAR_BACKTRACK > NEAR_WINDOW) {
      // bigger than the window (a core dump, say): a buffer of its own, dropped after use, so the
      // window does not stay that big for the rest of the file
      this.viewed = this.read(offset, length);
      end = offset + this.viewed.length;
      at = 0;
    } else {
      if (this.near.length === 0) this.near = Buffer.allocUnsafe(NEAR_WINDOW);
      const start = Math.max(0, offset - NEAR_BACKTRACK);
      this.nearStart = start;
      this.nearEnd = end = start + readSync(this.fd, this.near, 0, Math.min(NEAR_WINDOW, this.size - start), start);
      this.viewed = this.near;
      at = offset - start;
    }
    if (offset + length > end) throw this.unsupported(`object at ${offset} cut short`);
    if (this.viewed[at + Obj.Type] !== type) throw this.unsupported(`object at ${offset} is not of type ${type}`);
    return at;
  }

  private read(offset: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length);
    const got = readSync(this.fd, buffer, 0, length, offset);
    return buffer.subarray(0, got);
  }

  private unsupported(why: string): NativeUnsupported {
    return new NativeUnsupported(`${this.path}: ${why}`);
  }
}
