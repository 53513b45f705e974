import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../src/journal/lines.js';

async function linesOf(chunks: Buffer[]): Promise<string[]> {
  const out: string[] = [];
  await forEachLine(Readable.from(chunks), (line) => { out.push(line); });
  return out;
}

describe('line splitting of a byte stream', () => {
  it('keeps a multi-byte character whole when a chunk boundary falls inside it, at every position', async () => {
    const text = '{"MESSAGE":"josé → 日本 😀"}\nsecond ✓\nlast';
    const bytes = Buffer.from(text, 'utf8');
    for (let a = 1; a < bytes.length; a++) {
      for (const b of [a + 1, a + 3, bytes.length]) {
        if (b > bytes.length) continue;
        const chunks = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)].filter((c) => c.length > 0);
        expect(await linesOf(chunks)).toEqual(text.split('\n'));
      }
    }
  });

  it('numbers lines and waits for an asynchronous handler before the next line', async () => {
    const seen: string[] = [];
    await forEachLine(Readable.from([Buffer.from('a\nb\n')]), async (line, n) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`${n}:${line}`);
    });
    expect(seen).toEqual(['1:a', '2:b']);
  });

  it('gives the same lines whatever the chunking: a line across many chunks, chunks ending on a newline, empty lines', async () => {
    const text = 'short\n' + 'x'.repeat(50) + '\n\n{"a":"b"}\nno newline at the end';
    const bytes = Buffer.from(text, 'latin1');
    let seed = 7;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + Math.floor(random() * (round % 3 === 0 ? 3 : 20));
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(await linesOf(chunks)).toEqual(text.split('\n'));
    }
  });
});
