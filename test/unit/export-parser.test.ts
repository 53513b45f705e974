import { describe, expect, it } from 'vitest';
import { ExportParser } from '../../src/journal/export-parser.js';
import { makeByteDecoder } from '../../src/journal/fields.js';

const latin1 = makeByteDecoder('iso-8859-1');

function binaryField(name: string, bytes: Buffer): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([Buffer.from(`${name}\n`), length, bytes, Buffer.from('\n')]);
}

/** Two entries: text fields, numbers, a binary MESSAGE with a newline and an invalid UTF-8 byte, a repeated field. */
const STREAM = Buffer.concat([
  Buffer.from('__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1767225665473707\n_PID=42\nPRIORITY=6\n_HOSTNAME=dmz\n'),
  binaryField('MESSAGE', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x3d, 0x00, 0x21])),
  Buffer.from('TAG=first\nTAG=second\nUNIT=é ünïcode=yes\n\n'),
  Buffer.from('__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1767225665473708\n'),
  binaryField('DATA', Buffer.alloc(0)),
  Buffer.from('MESSAGE=plain\n\n'),
]);

const EXPECTED = [
  {
    __CURSOR: 's=1;i=1', __REALTIME_TIMESTAMP: 1767225665473707, _PID: 42, PRIORITY: 6, _HOSTNAME: 'dmz',
    MESSAGE: 'caf\u00e9\n=\u0000!', TAG: 'first', UNIT: 'é ünïcode=yes',
  },
  { __CURSOR: 's=1;i=2', __REALTIME_TIMESTAMP: 1767225665473708, DATA: '', MESSAGE: 'plain' },
];

function parseChunks(chunks: Buffer[], wanted?: ReadonlySet<string>): unknown[] {
  const parser = new ExportParser(latin1, undefined, wanted);
  const out: unknown[] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let e = parser.next(); e !== undefined; e = parser.next()) out.push(e);
  }
  return out;
}

describe('export format parser', () => {
  it('types text fields like replay and decodes a binary field that is not UTF-8 as ISO-8859-1, byte for byte', () => {
    expect(parseChunks([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same entries whichever byte the stream is cut at', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseChunks([STREAM.subarray(0, cut), STREAM.subarray(cut)]), `cut at ${cut}`).toEqual(EXPECTED);
    }
  });

  it('gives the same entries when every byte arrives alone', () => {
    const bytes = [...STREAM].map((b) => Buffer.from([b]));
    expect(parseChunks(bytes)).toEqual(EXPECTED);
  });

  it('does not depend on the producer keeping its buffer intact after the push', () => {
    const parser = new ExportParser(latin1);
    const reused = Buffer.from(STREAM.subarray(0, 30));
    parser.push(reused);
    expect(parser.next()).toBeUndefined();
    reused.fill(0x58); // a stream may recycle the chunk once handed over
    parser.push(STREAM.subarray(30));
    expect(parser.next()).toEqual(EXPECTED[0]);
  });

  it('decodes a valid UTF-8 binary field as UTF-8 and keeps a malformed number as text', () => {
    const stream = Buffer.concat([binaryField('MESSAGE', Buffer.from('naïve\nline', 'utf8')), Buffer.from('_PID=12a\nERRNO=99999999999999999999\n\n')]);
    expect(parseChunks([stream])).toEqual([{ MESSAGE: 'naïve\nline', _PID: '12a', ERRNO: 1e20 }]);
  });

  it('hands entries out one at a time so the caller can stop in the middle of a chunk', () => {
    const parser = new ExportParser(latin1);
    parser.push(STREAM);
    expect(parser.next()).toEqual(EXPECTED[0]);
    parser.push(Buffer.from('MESSAGE=third\n\n')); // queued behind the rest of the first chunk
    expect(parser.next()).toEqual(EXPECTED[1]);
    expect(parser.next()).toEqual({ MESSAGE: 'third' });
    expect(parser.next()).toBeUndefined();
  });

  it('skips an entry whose binary framing is broken and resumes at the next entry', () => {
    const broken = Buffer.concat([Buffer.from('A=1\nMESSAGE\n'), Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('abcdeX\nB=2\n\nC=3\n\n')]);
    const reasons: string[] = [];
    const parser = new ExportParser(latin1, (why) => reasons.push(why));
    parser.push(broken);
    expect(parser.next()).toEqual({ C: '3' });
    expect(parser.corrupt).toBe(1);
    expect(reasons[0]).toMatch(/MESSAGE/);
  });

  it('reset() drops a half-read entry (journalctl restarted mid-entry)', () => {
    const parser = new ExportParser(latin1);
    parser.push(Buffer.from('__CURSOR=x\nMESSAGE=hal'));
    expect(parser.next()).toBeUndefined();
    expect(parser.midEntry).toBe(true);
    parser.reset();
    parser.push(Buffer.from('MESSAGE=whole\n\n'));
    expect(parser.next()).toEqual({ MESSAGE: 'whole' });
  });

  it('decodes only the wanted fields, text or binary, whichever byte the stream is cut at', () => {
    const wanted = new Set(['__CURSOR', 'PRIORITY', 'TAG', 'DATA']);
    const only = (e: Record<string, unknown>) => Object.fromEntries(Object.entries(e).filter(([k]) => wanted.has(k)));
    const expected = EXPECTED.map(only);
    expect(parseChunks([STREAM], wanted)).toEqual(expected);
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseChunks([STREAM.subarray(0, cut), STREAM.subarray(cut)], wanted)).toEqual(expected);
    }
  });

  it('an entry whose fields are all skipped still ends where it ends: the next one is whole', () => {
    expect(parseChunks([STREAM], new Set(['MESSAGE']))).toEqual([{ MESSAGE: 'caf\u00e9\n=\u0000!' }, { MESSAGE: 'plain' }]);
    expect(parseChunks([STREAM], new Set(['DATA']))).toEqual([{}, { DATA: '' }]);
  });

  it('a new set of wanted fields applies from the next entry on', () => {
    const parser = new ExportParser(latin1, undefined, new Set(['__CURSOR']));
    parser.push(STREAM);
    expect(parser.next()).toEqual({ __CURSOR: 's=1;i=1' });
    parser.setWanted(undefined);
    expect(parser.next()).toEqual(EXPECTED[1]);
  });
});
