import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Entry } from '../modules/api.js';
import { FieldNameTable, parseDigits, type FieldName, type SliceableBuffer } from './bytes.js';
import { NUMERIC_FIELDS, numberOrText, typeJsonEntry } from './fields.js';

/** A field name met in the input. */
interface JsonField extends FieldName {
  /** The field that followed this one last time: journalctl writes each source's fields in the same order. */
  after: JsonField | undefined;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c, OPEN = 0x7b, CLOSE = 0x7d, U = 0x75, NEWLINE = 0x0a;

/** What a byte inside a JSON string means: one table load per byte instead of several comparisons. */
const enum Kind { Plain, Quote, Backslash, Control, High }
const KINDS = new Uint8Array(256).map((_, c) => c === QUOTE ? Kind.Quote : c === BACKSLASH ? Kind.Backslash : c < 0x20 ? Kind.Control : c >= 0x80 ? Kind.High : Kind.Plain);

/** JSON whitespace within a line (a newline ends the line). */
const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0d;
const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
/** Bytes that may follow a backslash, other than `u`: " \\ / b f n r t. */
const isEscapable = (c: number | undefined): boolean => c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;

/**
 * Parses `journalctl -o json` lines straight from their bytes into typed entries, decoding only
 * the fields some step reads. The result is exactly what `JSON.parse` of the line decoded as
 * UTF-8, then `typeJsonEntry`, gives for those fields: whatever this scanner does not handle
 * itself (a value that is not a string, an escape in a field name, anything malformed) goes
 * through that very path, so odd lines cost more but never read differently, and a malformed
 * line throws JSON.parse's own error. Parsing and typing every field of every line was most of
 * a replay's time, and all of its garbage.
 */
export class JsonLineParser {
  private readonly names: FieldNameTable<JsonField>;
  /** Where the last scan stopped: after the closing brace and the spaces that follow it. */
  private stop = 0;
  /** After `parseNext`: the start of the following line. */
  next = 0;
  /** Stands before the first field of a line, so that field is predicted too. */
  private readonly lineStart: JsonField = { name: '', bytes: new Uint8Array(0), hash: 0, wanted: false, numeric: false, after: undefined };

  constructor(private readonly decode: (bytes: Uint8Array) => string, wanted?: ReadonlySet<string>) {
    this.names = new FieldNameTable((name, bytes, hash) => ({
      name, bytes, hash, wanted: wanted === undefined || wanted.has(name), numeric: NUMERIC_FIELDS.has(name), after: undefined,
    }));
  }

  /** The entry of the line `bytes[start, end)` (no newline in it); throws what JSON.parse throws. */
  parse(bytes: Buffer, start: number, end: number): Entry {
    const entry = this.scan(bytes as SliceableBuffer, start, end);
    return entry !== undefined && this.stop === end ? entry : this.parseText(bytes.toString('utf8', start, end));
  }

  /**
   * The entry of the line starting at `start` in a chunk, found in the same pass as its end (no
   * separate search for the newline), with `next` set past the newline; or undefined when that line
   * needs `parse` (it is cut by the chunk's end, or odd, or malformed).
   */
  parseNext(bytes: Buffer, start: number): Entry | undefined {
    const entry = this.scan(bytes as SliceableBuffer, start, bytes.length);
    if (entry === undefined || this.stop >= bytes.length || bytes[this.stop] !== NEWLINE) return undefined;
    this.next = this.stop + 1;
    return entry;
  }

  private parseText(line: string): Entry {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return typeJsonEntry(parsed as Record<string, unknown>, this.decode);
  }

  /** The entry, or undefined when the line needs JSON.parse; `stop` is set after the closing brace and its spaces. */
  private scan(b: SliceableBuffer, start: number, end: number): Entry | undefined {
    let i = start;
    while (i < end && isSpace(b[i])) i++;
    if (i >= end || b[i] !== OPEN) return undefined;
    i++;
    while (i < end && isSpace(b[i])) i++;
    const entry: Entry = {};
    if (b[i] === CLOSE) return this.closed(b, i + 1, end, entry);
    let previous = this.lineStart;
    for (;;) {
      if (i >= end || b[i] !== QUOTE) return undefined;
      const keyStart = ++i;
      let field = previous.after;
      if (field !== undefined) {
        const bytes = field.bytes, length = bytes.length;
        let k = 0;
        while (k < length && bytes[k] === b[keyStart + k]) k++;
        if (k === length && keyStart + k < end && b[keyStart + k] === QUOTE) i = keyStart + k;
        else field = undefined;
      }
      if (field === undefined) {
        let hash = 0;
        for (; i < end; i++) {
          const c = b[i]!;
          if (c === QUOTE) break;
          if (KINDS[c] !== Kind.Plain) return undefined;
          hash = (Math.imul(hash, 31) + c) | 0;
        }
        if (i >= end) return undefined;
        field = this.names.find(b, keyStart, i, hash);
        // an assignment would set the prototype where JSON.parse makes an own property
        if (field.name === '__proto__') return undefined;
        previous.after = field;
      }
      previous = field;
      i++;
      while (i < end && isSpace(b[i])) i++;
      if (i >= end || b[i] !== COLON) return undefined;
      i++;
      while (i < end && isSpace(b[i])) i++;
      // a value that is not a string (journalctl's arrays for binary and repeated fields, null) is rare
      if (i >= end || b[i] !== QUOTE) return undefined;
      const valueStart = ++i;
      let high = false, escaped = false;
      for (; i < end; i++) {
        const kind = KINDS[b[i]!]!;
        if (kind === Kind.Plain) continue;
        if (kind === Kind.Quote) break;
        if (kind === Kind.High) { high = true; continue; }
        if (kind === Kind.Control) return undefined;
        escaped = true;
        const next = b[++i];
        if (next === U) {
          if (i + 4 >= end || !(isHex(b[i + 1]) && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]))) return undefined;
          i += 4;
        } else if (i >= end || !isEscapable(next)) return undefined;
      }
      if (i >= end) return undefined;
      if (field.wanted) entry[field.name] = this.value(b, valueStart, i, high, escaped, field.numeric);
      i++;
      while (i < end && isSpace(b[i])) i++;
      if (i >= end) return undefined;
      const c = b[i];
      if (c === CLOSE) return this.closed(b, i + 1, end, entry);
      if (c !== COMMA) return undefined;
      i++;
      while (i < end && isSpace(b[i])) i++;
    }
  }

  /** A string value's content `b[start, end)`, typed. */
  private value(b: SliceableBuffer, start: number, end: number, high: boolean, escaped: boolean, numeric: boolean): string | number {
    if (numeric) {
      const number = parseDigits(b, start, end);
      if (number >= 0) return number;
    }
    // UTF-8 decoding restarts at every ASCII byte, so the value decodes as it would within the whole line
    const text = escaped ? JSON.parse(high ? b.utf8Slice(start - 1, end + 1) : b.latin1Slice(start - 1, end + 1)) as string
      : high ? b.utf8Slice(start, end) : b.latin1Slice(start, end);
    return numeric ? numberOrText(text) : text;
  }

  private closed(b: Buffer, from: number, end: number, entry: Entry): Entry {
    let i = from;
    while (i < end && isSpace(b[i])) i++;
    this.stop = i;
    return entry;
  }
}

/**
 * Calls `onEntry` for each JSON line of a byte stream, with its line number, or `onMalformed` with
 * JSON.parse's error. Empty lines are skipped. When `onEntry` returns a Promise, reading waits for it.
 */
export async function forEachJsonEntry(stream: Readable, parser: JsonLineParser,
  onEntry: (entry: Entry, lineNumber: number) => void | Promise<void>, onMalformed: (error: Error, lineNumber: number) => void): Promise<void> {
  let lineNumber = 0;
  const lineOf = (bytes: Buffer, start: number, end: number): void | Promise<void> => {
    lineNumber++;
    if (start === end) return;
    let entry: Entry;
    try {
      entry = parser.parse(bytes, start, end);
    } catch (e) {
      onMalformed(e as Error, lineNumber);
      return;
    }
    return onEntry(entry, lineNumber);
  };
  // the start of a line cut by chunk ends, joined once its newline arrives
  let cut: Buffer[] = [];
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    let start = 0;
    if (cut.length > 0) {
      const nl = bytes.indexOf(NEWLINE);
      if (nl < 0) { cut.push(bytes); continue; }
      cut.push(bytes.subarray(0, nl));
      const line = Buffer.concat(cut);
      cut = [];
      start = nl + 1;
      const pending = lineOf(line, 0, line.length);
      if (pending) await pending;
    }
    while (start < bytes.length) {
      const entry = parser.parseNext(bytes, start);
      let pending: void | Promise<void>;
      if (entry !== undefined) {
        start = parser.next;
        pending = onEntry(entry, ++lineNumber);
      } else {
        const nl = bytes.indexOf(NEWLINE, start);
        if (nl < 0) break;
        pending = lineOf(bytes, start, nl);
        start = nl + 1;
      }
      if (pending) await pending;
    }
    if (start < bytes.length) cut.push(bytes.subarray(start));
  }
  if (cut.length > 0) {
    const line = Buffer.concat(cut);
    const pending = lineOf(line, 0, line.length);
    if (pending) await pending;
  }
}

export function fileOrStdin(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}
