import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeByteDecoder, typeJsonEntry } from '../../src/journal/fields.js';
import { forEachJsonEntry, JsonLineParser } from '../../src/journal/json-lines.js';
import type { Entry } from '../../src/modules/api.js';

const decode = makeByteDecoder('iso-8859-1');
const WANTED = new Set(['__REALTIME_TIMESTAMP', 'SYSLOG_IDENTIFIER', 'MESSAGE', 'PRIORITY', '_PID', 'A', 'B', 'N', '__proto__', 'é']);

type Outcome = { fields: [string, unknown][] } | { error: string };

/** What replay did before: the line decoded as UTF-8, JSON.parse, typeJsonEntry; then only the wanted fields. */
function reference(line: Buffer, wanted?: ReadonlySet<string>): Outcome {
  try {
    const parsed: unknown = JSON.parse(line.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return { fields: picked(typeJsonEntry(parsed as Record<string, unknown>, decode), wanted) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function parsed(parser: JsonLineParser, line: Buffer, wanted?: ReadonlySet<string>): Outcome {
  try {
    return { fields: picked(parser.parse(line, 0, line.length), wanted) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** In order, with own-property semantics (a `__proto__` key must be an own field, not the prototype). */
function picked(entry: Entry, wanted?: ReadonlySet<string>): [string, unknown][] {
  expect(Object.getPrototypeOf(entry)).toBe(Object.prototype);
  return Object.entries(entry).filter(([name]) => wanted === undefined || wanted.has(name));
}

function corpusLines(entries: number, seed: number): Buffer[] {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'peruse-jsonl-')), 'corpus.jsonl');
  execFileSync('node', ['/work/shared/corpus/gen-corpus.mjs', '--entries', String(entries), '--seed', String(seed), '--hours', '1', '--format', 'json', '--out', out]);
  const bytes = readFileSync(out);
  const lines: Buffer[] = [];
  for (let start = 0; start < bytes.length;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    if (end > start) lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

const HOSTILE: (string | Buffer)[] = [
  '{"MESSAGE":"plain","PRIORITY":"6","OTHER":"x"}',
  '{}', ' { } ', '{"MESSAGE":""}', '{"":"empty name","MESSAGE":"m"}',
  // escapes, in wanted and unwanted values
  '{"MESSAGE":"say \\"hi\\" \\\\ \\/ \\b\\f\\n\\r\\t","OTHER":"\\"\\\\"}',
  '{"MESSAGE":"\\u00e9\\u65e5\\ud83d\\ude00 lone \\ud800 end","OTHER":"\\uD83D"}',
  '{"OTHER":"a\\"b","MESSAGE":"after an escaped quote"}',
  '{"MESSAGE":"ends with a backslash \\\\"}',
  // raw UTF-8 and bytes that are not UTF-8
  '{"MESSAGE":"josé → 日本 😀","é":"key not ASCII"}',
  Buffer.concat([Buffer.from('{"MESSAGE":"bad '), Buffer.from([0xff, 0xc3]), Buffer.from('","A":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"OTHER":"'), Buffer.from([0xf0, 0x9f]), Buffer.from('","MESSAGE":"m'), Buffer.from([0xe9]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"MESSAGE":"é escaped \\" too '), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from('"}')]),
  // journalctl's non-string values
  '{"MESSAGE":[104,105,255],"A":"x"}', '{"MESSAGE":["first","second"],"B":[[104,105],"t"]}', '{"MESSAGE":null,"A":"kept"}',
  '{"OTHER":[1,2],"MESSAGE":"a binary field nobody reads"}', '{"N":12,"A":true,"B":{"x":"y"}}',
  // numbers
  '{"PRIORITY":"6","_PID":"0012","__REALTIME_TIMESTAMP":"1767225600068954"}',
  '{"PRIORITY":"-1","_PID":"","__REALTIME_TIMESTAMP":"9007199254740993"}',
  '{"PRIORITY":" 7 ","_PID":"1e3","__REALTIME_TIMESTAMP":"12345678901234567"}',
  '{"PRIORITY":"0x10","_PID":"abc","__REALTIME_TIMESTAMP":"9999999999999999"}',
  '{"PRIORITY":"\\u0036","_PID":"Infinity","__REALTIME_TIMESTAMP":"1.5"}',
  // keys: duplicates, escapes, prototype
  '{"A":"first","B":"b","A":"second"}', '{"A":"first","A":[1]}', '{"\\u0041":"escaped key","B":"b"}',
  '{"__proto__":"own field","A":"a"}', '{"__proto__":{"x":1},"A":"a"}', '{"constructor":"c","toString":"t","A":"a"}',
  // whitespace JSON allows within a line
  ' {\t"A" :\t"a" ,  "B":"b"\r}\r', '{"A":"a"}   ',
  // malformed: each must give JSON.parse's own error
  '', ' ', '\r', '{', '}', '{"A":"a"', '{"A":"a",}', '{"A" "a"}', '{"A":"a" "B":"b"}', '{A:"a"}', "{'A':'a'}",
  '{"A":"a"}x', '{"A":"a"}{"B":"b"}', '{"A":"a\tb"}', '{"A":"a\u0001b"}', '{"OTHER":"raw \u001f control"}',
  '{"A":"bad \\x escape"}', '{"A":"short \\u12"}', '{"A":"\\u12G4"}', '{"OTHER":"\\q"}', '{"A":"unterminated}', '{"A":"ends with \\',
  '[1,2]', '"string"', '42', 'null', 'true', '{"A":"a"}\u0000', '\ufeff{"A":"a"}',
];

describe('JSON lines read straight from their bytes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads every line of a generated corpus as JSON.parse and typing would, and without JSON.parse for most', () => {
    const lines = corpusLines(4000, 11);
    const withWanted = new JsonLineParser(decode, WANTED);
    const every = new JsonLineParser(decode);
    const expected = lines.map((line) => [reference(line, WANTED), reference(line)]);
    const jsonParse = vi.spyOn(JSON, 'parse');
    const actual = lines.map((line) => [parsed(withWanted, line, WANTED), parsed(every, line)]);
    const slowLines = jsonParse.mock.calls.length;
    vi.restoreAllMocks();
    expect(actual).toEqual(expected);
    // two parses per line; messages with escaped quotes (about one in ten) alone go through JSON.parse, as a value
    expect(slowLines).toBeLessThan(lines.length * 2 * 0.15);
    expect(expected.every(([outcome]) => 'fields' in outcome! && outcome.fields.length >= 4)).toBe(true);
  });

  it('reads hostile and odd lines exactly as JSON.parse does, or fails with its very error', () => {
    const parser = new JsonLineParser(decode, WANTED);
    const every = new JsonLineParser(decode);
    for (const text of HOSTILE) {
      const line = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      expect(parsed(parser, line, WANTED), `wanted fields of ${JSON.stringify(line.toString('latin1'))}`).toEqual(reference(line, WANTED));
      expect(parsed(every, line), `every field of ${JSON.stringify(line.toString('latin1'))}`).toEqual(reference(line));
    }
  });

  it('reads randomly damaged corpus lines exactly as JSON.parse does, or fails with its very error', () => {
    const lines = corpusLines(400, 5);
    const specials = [0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0x20, 0x09, 0x0d, 0x00, 0x1f, 0x75, 0x30, 0x39, 0x41, 0x5b, 0x5d, 0x80, 0xc3, 0xa9, 0xff];
    let seed = 20261130;
    const random = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    const parser = new JsonLineParser(decode, WANTED);
    let parsedLines = 0, failedLines = 0;
    for (let round = 0; round < 6000; round++) {
      const line = Buffer.from(lines[random(lines.length)]!);
      const edits = 1 + random(3);
      let damaged = line;
      for (let e = 0; e < edits; e++) {
        const at = random(damaged.length);
        const byte = specials[random(specials.length)]!;
        const kind = random(3);
        damaged = kind === 0 ? Buffer.concat([damaged.subarray(0, at), Buffer.from([byte]), damaged.subarray(at)])
          : kind === 1 ? Buffer.concat([damaged.subarray(0, at), damaged.subarray(at + 1)])
          : Buffer.concat([damaged.subarray(0, at), Buffer.from([byte]), damaged.subarray(at + 1)]);
      }
      const want = reference(damaged, WANTED);
      expect(parsed(parser, damaged, WANTED), JSON.stringify(damaged.toString('latin1'))).toEqual(want);
      if ('error' in want) failedLines++; else parsedLines++;
    }
    // both kinds are exercised
    expect(failedLines).toBeGreaterThan(1000);
    expect(parsedLines).toBeGreaterThan(1000);
  });

  it('gives the same entries, line numbers and errors whatever the chunking, a line across many chunks, a character cut in two', async () => {
    const lines = [
      '{"MESSAGE":"josé → 日本 😀","PRIORITY":"3"}', '', '{"A":"a"', '{"MESSAGE":"' + 'x'.repeat(300) + '"}', '\r', '{"B":"\\"q\\""}\r',
      '{"MESSAGE":[104,105]}', '{"A":"no newline at the end"}',
    ];
    const bytes = Buffer.from(lines.join('\n'), 'utf8');
    const expected: string[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      const outcome = reference(Buffer.from(line, 'utf8'), WANTED);
      expected.push('error' in outcome ? `${i + 1} error ${outcome.error}` : `${i + 1} ${JSON.stringify(outcome.fields)}`);
    });
    let seed = 7;
    const random = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = round === 0 ? bytes.length : 1 + random(round % 3 === 0 ? 3 : 40);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const seen: string[] = [];
      await forEachJsonEntry(Readable.from(chunks), new JsonLineParser(decode, WANTED),
        (entry, n) => { seen.push(`${n} ${JSON.stringify(picked(entry, WANTED))}`); },
        (error, n) => { seen.push(`${n} error ${error.message}`); });
      expect(seen).toEqual(expected);
    }
  });

  it('waits for an asynchronous handler before the next line', async () => {
    const seen: string[] = [];
    await forEachJsonEntry(Readable.from([Buffer.from('{"A":"1"}\n{"A":"2"}\n')]), new JsonLineParser(decode, WANTED), async (entry, n) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`${n}:${String(entry.A)}`);
    }, () => {});
    expect(seen).toEqual(['1:1', '2:2']);
  });

  it('remembers a bounded number of field names when every line brings new ones', () => {
    const parser = new JsonLineParser(decode, WANTED);
    for (let i = 0; i < 10_000; i++) {
      const line = Buffer.from(`{"F${i}":"v","A":"${i}"}`);
      expect(parser.parse(line, 0, line.length)).toEqual({ A: String(i) });
    }
    expect((parser as unknown as { names: { size: number } }).names.size).toBeLessThanOrEqual(4096);
  });
});
