import type { Entry } from '../modules/api.js';
import type { Readable } from 'node:stream';
import { NUMERIC_FIELDS, numberOrText } from './fields.js';
import { FieldNameTable, parseDigits, type FieldName, type SliceableBuffer } from './bytes.js';

/**
 * Streaming parser of the journal export format (`journalctl -o export`):
 *   text field    NAME=value\n            (journalctl uses it only for printable UTF-8)
 *   binary field  NAME\n<u64 LE length><bytes>\n
 *   a blank line ends an entry.
 * Chunks are parsed where they lie: a value is decoded straight from the chunk, and only a line
 * or a binary value cut by a chunk boundary is copied (bytes, never strings) to be completed.
 *
 * Pull-based so the caller can stop between entries (back-pressure): `push(chunk)`, then call
 * `next()` until it returns undefined, then push the following chunk.
 * Fields are typed like `replay` does (fields.ts): numbers for NUMERIC_FIELDS, binary values
 * decoded with the 8-bit decoder, a repeated field keeps its first value.
 */
const NEWLINE = 0x0a;
const EQUALS = 0x3d;
const MAX_BINARY_FIELD = 768 * 1024 * 1024; // journald's own DATA_SIZE_MAX; beyond that it is corruption

const enum Expect { Line, BinaryLength, BinaryData, BinaryNewline }

export class ExportParser {
  private chunk: Buffer = Buffer.alloc(0);
  private position = 0;
  private readonly queued: Buffer[] = [];
  private expect = Expect.Line;
  /** Bytes of a line or binary value cut by a chunk boundary. */
  private pieces: Buffer[] = [];
  private piecesLength = 0;
  private binaryName = '';
  private binaryRemaining = 0;
  private readonly lengthBytes = Buffer.alloc(8);
  private lengthFilled = 0;
  private entry: Entry = {};
  private fields = 0;
  /** After bad framing: lines are ignored up to the next blank line. */
  private skipping = false;
  private readonly names = new FieldNameTable<FieldName>((name, bytes, hash) => ({ name, bytes, hash, numeric: NUMERIC_FIELDS.has(name), wanted: this.isWanted(name) }));
  /** Entries thrown away because their bytes were not valid export format. */
  corrupt = 0;

  /** Binary field being read is one nobody reads: its bytes are skipped, not decoded. */
  private binaryWanted = true;

  /**
   * `wanted`: the only fields to decode (what the workflow reads, see `fieldsRead`); the others are
   * skipped without making a string. Undefined: every field.
   */
  constructor(private readonly decode: (bytes: Uint8Array) => string, private readonly onCorrupt?: (why: string) => void,
    private wanted?: ReadonlySet<string>) {}

  private isWanted(name: string): boolean {
    return this.wanted === undefined || this.wanted.has(name);
  }

  /** A new set of fields to decode (a reloaded config), from the next field on. */
  setWanted(wanted: ReadonlySet<string> | undefined): void {
    this.wanted = wanted;
    this.names.clear();
  }

  push(chunk: Buffer): void {
    if (this.position < this.chunk.length) this.queued.push(chunk);
    else {
      this.chunk = chunk;
      this.position = 0;
    }
  }

  /** The next complete entry from the bytes pushed so far, or undefined when more bytes are needed. */
  next(): Entry | undefined {
    for (;;) {
      if (this.position >= this.chunk.length) {
        const queued = this.queued.shift();
        if (queued === undefined) return undefined;
        this.chunk = queued;
        this.position = 0;
      }
      const entry = this.parseChunk();
      if (entry !== undefined) return entry;
    }
  }

  /** Drops a partial entry and buffered bytes (the producer restarted). */
  reset(): void {
    this.chunk = Buffer.alloc(0);
    this.position = 0;
    this.queued.length = 0;
    this.expect = Expect.Line;
    this.pieces = [];
    this.piecesLength = 0;
    this.lengthFilled = 0;
    this.entry = {};
    this.fields = 0;
    this.skipping = false;
  }

  /** True when an entry has begun but not ended (for a producer that stopped mid-entry). */
  get midEntry(): boolean {
    return this.fields > 0 || this.piecesLength > 0 || this.expect !== Expect.Line;
  }

  private parseChunk(): Entry | undefined {
    const chunk = this.chunk;
    const length = chunk.length;
    while (this.position < length) {
      switch (this.expect) {
        case Expect.Line: {
          const start = this.position;
          const newline = chunk.indexOf(NEWLINE, start);
          if (newline < 0) {
            this.keep(chunk.subarray(start));
            this.position = length;
            return undefined;
          }
          this.position = newline + 1;
          const done = this.piecesLength > 0 ? this.lineFromPieces(chunk.subarray(start, newline)) : this.line(chunk as SliceableBuffer, start, newline);
          if (done !== undefined) return done;
          break;
        }
        case Expect.BinaryLength: {
          while (this.lengthFilled < 8 && this.position < length) this.lengthBytes[this.lengthFilled++] = chunk[this.position++]!;
          if (this.lengthFilled < 8) return undefined;
          this.lengthFilled = 0;
          const size = this.lengthBytes.readBigUInt64LE(0);
          if (size > BigInt(MAX_BINARY_FIELD)) {
            this.resync(`binary field ${this.binaryName} claims ${size} bytes`);
            break;
          }
          this.binaryRemaining = Number(size);
          this.expect = Expect.BinaryData;
          break;
        }
        case Expect.BinaryData: {
          const available = Math.min(this.binaryRemaining, length - this.position);
          if (!this.binaryWanted) {
            // a field nobody reads: its bytes are passed over, never decoded
          } else if (available === this.binaryRemaining && this.piecesLength === 0) {
            this.setBinaryField(this.decode(chunk.subarray(this.position, this.position + available)));
          } else {
            this.keep(chunk.subarray(this.position, this.position + available));
            if (available === this.binaryRemaining) this.setBinaryField(this.decode(this.takePieces()));
          }
          this.position += available;
          this.binaryRemaining -= available;
          if (this.binaryRemaining === 0) this.expect = Expect.BinaryNewline;
          break;
        }
        case Expect.BinaryNewline: {
          if (chunk[this.position] !== NEWLINE) {
            this.resync(`binary field ${this.binaryName} not followed by a newline`);
            break;
          }
          this.position++;
          this.expect = Expect.Line;
          break;
        }
      }
    }
    return undefined;
  }

  /** One complete line `chunk[start, end)`; returns the entry when the line is the blank separator. */
  private line(chunk: SliceableBuffer, start: number, end: number): Entry | undefined {
    if (this.skipping) {
      if (start === end) this.skipping = false;
      return undefined;
    }
    if (start === end) return this.endEntry();
    // field names are short ASCII: a bounded byte loop (hashing as it goes) beats indexOf that could run far past the line
    let equals = start;
    let hash = 0;
    for (; equals < end; equals++) {
      const byte = chunk[equals]!;
      if (byte === EQUALS) break;
      hash = (Math.imul(hash, 31) + byte) | 0;
    }
    if (equals < end) {
      const field = this.names.find(chunk, start, equals, hash);
      if (!field.wanted) { this.fields++; return undefined; }
      if (field.numeric) {
        const number = parseDigits(chunk, equals + 1, end);
        this.setField(field.name, true, number >= 0 ? number : chunk.utf8Slice(equals + 1, end));
      } else this.setField(field.name, false, chunk.utf8Slice(equals + 1, end));
    } else {
      this.binaryName = chunk.latin1Slice(start, end);
      this.binaryWanted = this.isWanted(this.binaryName);
      if (!this.binaryWanted) this.fields++;
      this.expect = Expect.BinaryLength;
    }
    return undefined;
  }

  private lineFromPieces(tail: Buffer): Entry | undefined {
    this.keep(tail);
    const whole = this.takePieces();
    return this.line(whole as SliceableBuffer, 0, whole.length);
  }

  private setField(name: string, numeric: boolean, value: string | number): void {
    const entry = this.entry;
    this.fields++;
    if (entry[name] !== undefined) return; // a repeated field keeps its first value, as replay does
    entry[name] = numeric && typeof value === 'string' ? numberOrText(value) : value;
  }

  private setBinaryField(value: string): void {
    this.setField(this.binaryName, NUMERIC_FIELDS.has(this.binaryName), value);
  }

  private endEntry(): Entry | undefined {
    if (this.fields === 0) return undefined; // tolerate extra blank lines
    const entry = this.entry;
    this.entry = {};
    this.fields = 0;
    return entry;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // copy: the producer may reuse its buffer, and a kept slice would pin a whole chunk
    this.pieces.push(Buffer.from(bytes));
    this.piecesLength += bytes.length;
  }

  private takePieces(): Buffer {
    const whole = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.piecesLength);
    this.pieces = [];
    this.piecesLength = 0;
    return whole;
  }

  /** Bad framing: drop the entry being read and continue at the next blank line. */
  private resync(why: string): void {
    this.corrupt++;
    this.onCorrupt?.(why);
    this.entry = {};
    this.fields = 0;
    this.pieces = [];
    this.piecesLength = 0;
    this.lengthFilled = 0;
    this.expect = Expect.Line;
    this.skipping = true;
  }
}

/**
 * Reads a whole export stream (e.g. a non-following journalctl), one entry at a time: a handler
 * that returns a Promise pauses the stream until it settles. Resolves at the end of the stream.
 */
export function forEachExportEntry(stream: Readable, decode: (bytes: Uint8Array) => string,
  handle: (entry: Entry, ordinal: number) => void | Promise<void>, wanted?: ReadonlySet<string>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const parser = new ExportParser(decode, undefined, wanted);
    let ordinal = 0;
    let ended = false;
    let busy = false;
    const drain = (): void => {
      for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
        const pending = handle(entry, ++ordinal);
        if (pending !== undefined) {
          busy = true;
          stream.pause();
          pending.then(() => { busy = false; drain(); }, reject);
          return;
        }
      }
      if (ended) resolve();
      else stream.resume();
    };
    stream.on('data', (chunk: Buffer) => { parser.push(chunk); drain(); });
    stream.on('end', () => { ended = true; if (!busy) drain(); });
    stream.on('error', reject);
  });
}
