import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each line of a byte stream with its number. Lines of a chunk are handled
 * synchronously (no Promise per line); when `onLine` returns a Promise, reading waits for it.
 */
export async function forEachLine(stream: Readable, onLine: (line: string, lineNumber: number) => void | Promise<void>): Promise<void> {
  let carry = '';
  let lineNumber = 0;
  for await (const chunk of stream) {
    const text = carry + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      const pending = onLine(text.slice(start, nl), ++lineNumber);
      start = nl + 1;
      if (pending) await pending;
    }
    carry = text.slice(start);
  }
  if (carry.length > 0) {
    const pending = onLine(carry, ++lineNumber);
    if (pending) await pending;
  }
}

export function fileOrStdin(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}
