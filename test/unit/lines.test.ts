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
});
