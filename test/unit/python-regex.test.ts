import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../src/text/regex.js';
import { asPythonSearch, pythonSearch } from '../helpers/python-re.js';
import { randomPattern, seededRandom, type PatternShape } from '../helpers/random-patterns.js';

function patternsOf(file: string): string[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { actions: Record<string, { args?: { re?: string | string[] } }[]> };
  return Object.values(config.actions).flat().flatMap((s) => (s.args?.re === undefined ? [] : Array.isArray(s.args.re) ? s.args.re : [s.args.re]));
}

const UNICODE_SUBJECTS = [
  'é', '٣', 'a\u00a0b', 'x é y', 'café au lait', 'naïve_٣٤', 'ÉTÉ 2024', '\u2003tab\u2003', 'x\u001cy', 'x\u000by', 'a\u0301b',
  'Failed password for ünïcode from 1.2.3.4 port 22 ssh2', 'user=jörg ip=10.0.0.1', 'x😀y', '😀 é', 'foo\n', 'foo\nbar\n', 'foo', 'line\n\n',
  'aaaa', 'a{,3}', 'ab', 'a b', '', ' ', '\n', 'AbC déf', 'x-1 ٢٠ ²', 'ǅx', 'ⅷ', '\u2028x', 'k\u212a', '0x1F',
];

const BEHAVIOUR_PATTERNS = [
  // Unicode classes
  '\\w+', '^\\w+$', '\\W+', '\\d+', '^\\d+$', '\\D+', '\\s', '\\s+', '\\S+', 'a\\sb', '[\\w.-]+', '[^\\w ]+', '[\\d]+', '[\\s,]+', '[^\\S]+',
  '[\\W]+', '[^\\W]+', '[\\Wx]+', '[^\\Wx]+', '[\\D\\s]+', '(\\w+)\\b', '\\bfoo\\b', '\\b\\w', '\\B\\w+', '\\bé', '(?i)\\w+', '(?a)\\w+', '(?a)\\s+', '(?a)\\bx',
  // verbose
  '(?x) a \\  b # comment', '(?x)(?i) c a f é  # comment\n', '(?x)^ (?P<user> \\w+ ) \\s+ [ ]? (?P<ip> [0-9.]+ )? $', '(?x) x [# ] y',
  // repeats
  'a{,3}', '^a{,3}$', 'a{,}', 'a{2,}', 'a{}', 'a{x}', '{', 'a{1,2}?', 'x{,2}y',
  // anchors
  'foo$', '^foo$', 'foo\\Z', '\\Afoo', '(?P<m>.*$)', '(?m)^bar$', '(?m)foo$', '(?s).+$', '.*$', '$', '\\n$', '(?m)\\Z',
  // escapes and the rest
  '\\x41|\\u00e9', '\\101', '[\\101-\\103]+', '\\0', '(a)\\1', '(?P<c>.)(?P=c)', '(?<=f)oo', '(?!b)\\w', 'caf(?#comment)é', '[]a]+', '[^]a]+', 'a\\-b', '\\#', '\\.',
  '(?i)CAFÉ', '(?s)a.b', 'a.b', 'x.y', '😀', '[😀é]+', '\\U0001F600',
];

describe('regular expressions mean what Python 3 re on str means (checked against python3 itself)', () => {
  it('Unicode classes, (?x), {,n}, $ before a final newline and \\Z find exactly what Python finds, groups included', () => {
    const subjects = [...UNICODE_SUBJECTS, ...readFileSync(new URL('../../examples/samples.jsonl', import.meta.url), 'utf8')
      .split('\n').filter(Boolean).map((l) => String((JSON.parse(l) as { MESSAGE?: unknown }).MESSAGE ?? '')).slice(0, 40)];
    const patterns = [
      ...BEHAVIOUR_PATTERNS,
      ...patternsOf('/work/shared/fixtures/pyruse-full-example.json'),
      ...patternsOf('/work/shared/corpus/bench-config.json'),
    ];
    const python = pythonSearch(patterns, subjects);
    let compared = 0;
    patterns.forEach((pattern, p) => {
      const want = python[p]!;
      if ('error' in want) {
        expect(() => compilePattern(pattern), `${pattern}: Python refuses it (${want.error})`).toThrow();
        return;
      }
      const compiled = compilePattern(pattern);
      subjects.forEach((subject, s) => {
        expect(asPythonSearch(subject, compiled.exec(subject)), `${JSON.stringify(pattern)} on ${JSON.stringify(subject)}`).toEqual(want.results[s]);
        compared++;
      });
    });
    expect(compared).toBeGreaterThan(5_000);
  });

  it('\\w, \\d and \\s are Unicode-aware: é and ٣ are word characters, ٣ a digit, NBSP a space', () => {
    expect(compilePattern('^\\w+$').exec('é٣')).not.toBeNull();
    expect(compilePattern('^\\d$').exec('٣')).not.toBeNull();
    expect(compilePattern('^a\\sb$').exec('a\u00a0b')).not.toBeNull();
    expect(compilePattern('\\bfoo').exec('éfoo')).toBeNull();
  });

  it('a (?x) verbose pattern matches, whitespace and comments left out', () => {
    const m = compilePattern('(?x) ^ Failed \\ password \\s for \\s (?P<user> \\S+ )  # who\n  \\s from \\s (?P<ip> \\S+ )').exec('Failed password for root from 1.2.3.4');
    expect(m?.groups).toEqual({ user: 'root', ip: '1.2.3.4' });
  });

  it('a{,3} repeats 0 to 3 times', () => {
    expect(compilePattern('^xa{,3}y$').exec('xaaay')).not.toBeNull();
    expect(compilePattern('^xa{,3}y$').exec('xy')).not.toBeNull();
    expect(compilePattern('^xa{,3}y$').exec('xaaaay')).toBeNull();
  });

  it('$ also matches before a final newline, \\Z only at the very end', () => {
    expect(compilePattern('(?P<m>\\w+)$').exec('line\n')?.groups?.m).toBe('line');
    expect(compilePattern('line\\Z').exec('line\n')).toBeNull();
    expect(compilePattern('line\\Z').exec('line')).not.toBeNull();
  });

  it('a line ending in a newline cannot make a $ pattern backtrack without end: it runs on RE2', () => {
    const compiled = compilePattern('^(?:a+)+$');
    // 2^60 backtracking steps on a backtracking engine: this test would never end
    expect(compiled.exec(`${'a'.repeat(60)}!\n`)).toBeNull();
    expect(compiled.exec(`${'a'.repeat(60)}\n`)?.[0]).toBe('a'.repeat(60));
  });

  it('a pattern Python refuses is a config error, not a silent non-match', () => {
    for (const bad of ['\\p{L}', 'a\\z', '\\e', 'a{2,1}', '(?L)x', 'x(?P=nope)', '(a)\\2', '[z-a]']) {
      expect(() => compilePattern(bad, 're'), bad).toThrow(expect.objectContaining({ code: 'E_BAD_REGEX', argsSubPath: 're' }));
    }
  });

  it('ASCII-only patterns whose meaning does not change stay on the fast path', () => {
    for (const pattern of patternsOf('/work/shared/corpus/bench-config.json')) {
      expect(compilePattern(pattern).engine, pattern).not.toBe('js');
    }
    expect(compilePattern('^Failed password for (?P<user>\\S+) from (?P<ip>\\S+) port (?P<port>\\d+)').engine).toBe('irregexp');
  });
});

describe('which text runs on the backtracking engine', () => {
  it('is said where some text leaves the linear engines to keep Python\'s meaning', () => {
    expect(compilePattern('\\bfoo\\b').backtrackingOn).toBe('non-ASCII text');
    expect(compilePattern('foo$').backtrackingOn).toBe('text of several lines ending in a newline');
    expect(compilePattern('^Failed password for (?P<user>\\S+) from (?P<ip>\\S+)').backtrackingOn).toBeUndefined();
    expect(compilePattern('\\w+\\Z').backtrackingOn).toBeUndefined();
  });
});

describe('generated patterns with Unicode classes, anchors and boundaries', () => {
  // groups are not repeated: a repeated group that can match nothing captures differently in Python (see the docs)
  const SHAPE: PatternShape = {
    atoms: ['a', 'é', '٣', ' ', '.', '\\s', '\\S', '\\d', '\\D', '\\w', '\\W', '\\b', '\\B', '[\\w-]', '[^\\d ]', '[\\Wa]', '[^\\Sa]',
      '[\\s\\d]', '$', '^', '\\Z', '\\A', '\\n', 'x{,2}', '[é-ü]'],
    quantifiers: ['', '', '', '*', '+', '?', '{,2}', '+?', '{1,}'],
    unquantified: ['$', '^', '\\b', '\\B', '\\Z', '\\A', 'x{,2}'],
    groupBelow: 0.15, alternationBelow: 0.25, quantifyGroups: false,
  };
  const rng = seededRandom;
  const pattern = (next: () => number, depth: number): string => randomPattern(next, SHAPE, depth);

  it('700 generated patterns (plain, (?a), (?m), (?s)) find what Python finds on 60 lines of Unicode, emoji and newlines', () => {
    const next = rng(12345);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const alphabet = ['a', 'A', 'é', 'É', '٣', '1', ' ', '\u00a0', '\n', '\t', '\u000b', '\u001c', '_', '-', 'x', '😀', '\u2028', 'ü'];
    const subjects = Array.from({ length: 60 }, () => Array.from({ length: Math.floor(next() * 10) }, () => pick(alphabet)).join(''));
    const patterns = Array.from({ length: 700 }, () => pick(['', '', '', '(?a)', '(?m)', '(?s)']) + pattern(next, 0));
    const python = pythonSearch(patterns, subjects);
    let compared = 0;
    patterns.forEach((source, p) => {
      const want = python[p]!;
      if ('error' in want) throw new Error(`${source}: ${want.error}`);
      const compiled = compilePattern(source);
      subjects.forEach((subject, s) => {
        expect(asPythonSearch(subject, compiled.exec(subject)), `${JSON.stringify(source)} on ${JSON.stringify(subject)}`).toEqual(want.results[s]);
        compared++;
      });
    });
    expect(compared).toBe(42_000);
  });
});
