import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** Splits a byte stream into lines without building one big string: yields each line with its number. */
export async function* readLines(stream: Readable): AsyncGenerator<[string, number]> {
  let carry = '';
  let lineNumber = 0;
  for await (const chunk of stream) {
    const text = carry + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      lineNumber++;
      yield [text.slice(start, nl), lineNumber];
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry.length > 0) yield [carry, ++lineNumber];
}

export function fileOrStdin(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}
