import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** Length of `bytes` up to the last complete UTF-8 character (a chunk may end inside one). */
function completeUtf8Length(bytes: Buffer): number {
  for (let back = 1; back <= 4 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const needed = byte < 0x80 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/**
 * Calls `onLine` for each line of a byte stream with its number. Lines of a chunk are handled
 * synchronously (no Promise per line); when `onLine` returns a Promise, reading waits for it.
 * An all-ASCII chunk (journalctl's JSON nearly always is) is decoded as Latin-1, several times
 * faster than UTF-8 and identical for ASCII; a character split between chunks is kept whole.
 */
export async function forEachLine(stream: Readable, onLine: (line: string, lineNumber: number) => void | Promise<void>): Promise<void> {
  let carry = '';
  let partial: Buffer | undefined;
  let lineNumber = 0;
  for await (const chunk of stream) {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    if (partial) { bytes = Buffer.concat([partial, bytes]); partial = undefined; }
    let decoded: string;
    if (isAscii(bytes)) decoded = bytes.toString('latin1');
    else {
      const complete = completeUtf8Length(bytes);
      decoded = bytes.toString('utf8', 0, complete);
      if (complete < bytes.length) partial = Buffer.from(bytes.subarray(complete));
    }
    // the line cut by the previous chunk is completed on its own: joining it to the whole chunk
    // would copy every chunk once more when indexOf flattens the joined string
    let start = 0;
    if (carry.length > 0) {
      const nl = decoded.indexOf('\n');
      if (nl < 0) { carry += decoded; continue; }
      const pending = onLine(carry + decoded.slice(0, nl), ++lineNumber);
      carry = '';
      start = nl + 1;
      if (pending) await pending;
    }
    for (let nl = decoded.indexOf('\n', start); nl >= 0; nl = decoded.indexOf('\n', start)) {
      const pending = onLine(decoded.slice(start, nl), ++lineNumber);
      start = nl + 1;
      if (pending) await pending;
    }
    carry = decoded.slice(start);
  }
  if (partial) carry += partial.toString('utf8');
  if (carry.length > 0) {
    const pending = onLine(carry, ++lineNumber);
    if (pending) await pending;
  }
}

export function fileOrStdin(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}
