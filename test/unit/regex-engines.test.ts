import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasSurrogate, linearFallbackActive, toSameMeaningJsSource } from '../../src/text/linear-js.js';
import { compilePattern } from '../../src/text/regex.js';
import { asPythonSearch, pythonSearch } from '../helpers/python-re.js';
import { randomPattern, seededRandom, type PatternShape } from '../helpers/random-patterns.js';

function patternsOf(file: string): string[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { actions: Record<string, { args?: { re?: string | string[] } }[]> };
  return Object.values(config.actions).flat().flatMap((s) => (s.args?.re === undefined ? [] : Array.isArray(s.args.re) ? s.args.re : [s.args.re]));
}

// the constructs whose meaning differs between RE2 and JS, and plain ones around them
const EDGE_PATTERNS = [
  'a.b', '^(.*)$', 'x(.)y', '(?s)a.b', '\\s+(\\S+)\\s', '[\\s,]+', '[]a]+', '[^]]+', '^\\[([^]]+)\\]',
  '(\\w+)\\b', '\\d+\\D', '[^ ]+ (?P<rest>.*)', '(?:ab|a)(b?)', 'a{2,3}?(a*)', '\\x41\\.', 'end$', '^\\Afoo\\Z',
  'a|b|', '(a)|(b)', '[[]x', 'a\\-b', '^(a+)+$', '\\tz\\n', '(?:|a)*', '(?:(a)|b)+', '(a*)?b', '(?:ab|cd)+(e)',
];

const SUBJECTS = [
  '', 'a\nb', 'a\rb', 'a\u2028b', 'a\u2029b', 'axb', 'a b', 'x\u00a0y', 'x\u000by', 'x\ty\nz', 'tab\tz\n',
  ' one\u00a0two three ', ' one\vtwo three ', ']]a]', 'q]rs', '[abc] rest', '[a]b] c', 'x😀y', '😀😀', 'caf\u00e9 naïve',
  'ab', 'abb', 'aab', 'aaa', 'x y', 'aa', 'abcde', 'cdabe', 'b', 'A.', 'foo', 'end', 'end\n', 'xxxxy', 'word, word', 'a-b', '[x', 'é\u0301',
];

describe('regex engines: irregexp only where it means what RE2 means', () => {
  it('the linear-time fallback of V8 is switched on in this process', () => {
    expect(linearFallbackActive()).toBe(true);
  });

  it('every config pattern and every edge construct finds exactly what Python\'s re finds, groups included, on every engine chosen', () => {
    const patterns = [
      ...patternsOf('/work/shared/fixtures/pyruse-full-example.json'),
      ...patternsOf('/work/shared/corpus/bench-config.json'),
      ...EDGE_PATTERNS,
    ];
    const subjects = [...SUBJECTS, ...readFileSync(new URL('../../examples/samples.jsonl', import.meta.url), 'utf8')
      .split('\n').filter(Boolean).map((l) => String((JSON.parse(l) as { MESSAGE?: unknown }).MESSAGE ?? ''))];
    let onIrregexp = 0;
    const python = pythonSearch(patterns, subjects);
    patterns.forEach((pattern, p) => {
      const want = python[p]!;
      if ('error' in want) throw new Error(`${pattern}: ${want.error}`);
      const compiled = compilePattern(pattern);
      if (compiled.engine === 'irregexp') onIrregexp++;
      subjects.forEach((subject, s) => {
        expect(asPythonSearch(subject, compiled.exec(subject)), `${pattern} on ${JSON.stringify(subject)}`).toEqual(want.results[s]);
      });
    });
    expect(onIrregexp).toBeGreaterThan(60);
  });

  it('when a line makes a pattern backtrack without end, the linear engine takes over and it returns', () => {
    for (const pattern of ['(?:x+x+)+y', '^(?:a+)+$', '^(?:\\w+\\s?)+$']) {
      const compiled = compilePattern(pattern);
      expect(compiled.engine).toBe('irregexp');
      // 2^60 backtracking steps without the fallback: this test would never end
      expect(compiled.exec(`${'a'.repeat(30)}${'x'.repeat(30)}!`)).toBeNull();
    }
  });

  it('constructs that could mean something else stay on RE2', () => {
    for (const pattern of ['(?i)failed', '(?m)^x$', 'x😀', '.{19} rest']) {
      expect(compilePattern(pattern).engine, pattern).toBe('re2');
    }
  });

  it('RE2 spellings are rewritten where JS reads them otherwise', () => {
    expect(toSameMeaningJsSource('[]a]', '')).toBe('[\\]a]');
    expect(toSameMeaningJsSource('[^]a]', '')).toBe('[^\\]a]');
    expect(toSameMeaningJsSource('a.b', '')).toBe('a[^\\n]b');
    expect(toSameMeaningJsSource('a.b', 's')).toBe('a[^]b');
    expect(toSameMeaningJsSource('\\s\\S[\\s,]', '')).toBe('[\\t\\n\\f\\r ][^\\t\\n\\f\\r ][\\t\\n\\f\\r ,]');
    expect(toSameMeaningJsSource('(?P<ip>x)', '')).toBe('(?<ip>x)');
  });

  it('text holding astral characters is matched by RE2, which counts them as one character', () => {
    expect(hasSurrogate('x😀y')).toBe(true);
    expect(hasSurrogate('café')).toBe(false);
    expect(compilePattern('^x(.)y$').exec('x😀y')?.[1]).toBe('😀');
  });
});

describe('repeated groups', () => {
  it('a repeated group that can match nothing, or holds a capture, stays on RE2', () => {
    for (const pattern of ['(x*)*y', '(?:|a)*', '(?:(a)|b)+', '(a)?b', '(?:a*)+b', '(?:\\b)+x', '(a|)+', '(?:x(y))*']) {
      expect(compilePattern(pattern).engine, pattern).toBe('re2');
    }
  });
  it('repeated groups that always consume and capture nothing run on irregexp', () => {
    for (const pattern of ['(?:\\([^)]*\\) )?\\[(?P<ip>[^]]+)\\]', '(?:ab|cd)+(e)', '(?:a{2})*', '([^ ]+) (?:x|y)?z']) {
      expect(compilePattern(pattern).engine, pattern).toBe('irregexp');
    }
  });
});

describe('generated patterns', () => {
  // seeded: the same patterns on every run, many shapes RE2 and JS could read apart
  const SHAPE: PatternShape = {
    atoms: ['a', 'b', ' ', '.', '\\s', '\\S', '\\d', '\\w', '[ab]', '[^a]', '[]a]', '[^]b]', '[\\s1]', 'é', '\\.', '^', '$', '\\b'],
    quantifiers: ['', '', '', '*', '+', '?', '*?', '+?', '{1,2}', '{2}'],
    unquantified: ['^', '$', '\\b'],
    groupBelow: 0.2, alternationBelow: 0.35, quantifyGroups: true,
  };
  const rng = seededRandom;
  const pattern = (next: () => number, depth: number): string => randomPattern(next, SHAPE, depth);

  it('where irregexp is chosen, 400 generated patterns find what Python\'s re finds on 60 generated lines', () => {
    const next = rng(7);
    const alphabet = ['a', 'b', ' ', '1', 'é', '\n', '\r', '\t', ']', '.', '\u00a0', '\u2028'];
    const subjects = Array.from({ length: 60 }, () => Array.from({ length: Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]!).join(''));
    let compared = 0;
    const sources = Array.from({ length: 400 }, () => pattern(next, 0));
    const python = pythonSearch(sources, subjects);
    sources.forEach((source, p) => {
      const want = python[p]!;
      if ('error' in want) return;
      const compiled = compilePattern(source);
      if (compiled.engine !== 'irregexp') return;
      subjects.forEach((subject, s) => {
        expect(asPythonSearch(subject, compiled.exec(subject)), `${source} on ${JSON.stringify(subject)}`).toEqual(want.results[s]);
        compared++;
      });
    });
    expect(compared).toBeGreaterThan(10_000);
  });
});

describe('atomic groups and possessive quantifiers (Python 3.11 re)', () => {
  it('match exactly what Python matches (expected values from Python 3.11), the added groups hidden', () => {
    // [pattern, text, Python's groups() with group(0) first, or null; groupdict()]
    const cases: [string, string, (string | null)[] | null, Record<string, string> | undefined][] = [
      ['(?>a+)b', 'aaab', ['aaab'], undefined],
      ['(?>a+)a', 'aaa', null, undefined],
      ['a++a', 'aaa', null, undefined],
      ['a++b', 'aab', ['aab'], undefined],
      ['(?P<x>a)(?>b|bc)c\\1', 'abca', ['abca', 'a'], { x: 'a' }],
      ['(?P<x>a)(?>bc|b)c\\1', 'abcca', ['abcca', 'a'], { x: 'a' }],
      ['x(?P<n>\\d)*+\\d', 'x12', null, undefined],
      ['(\\w+)\\s(?>\\d+)\\s\\1', 'foo 12 foo', ['foo 12 foo', 'foo'], undefined],
      ['[+]++', '++', ['++'], undefined],
      ['a{2}+b', 'aab', ['aab'], undefined],
      ['(a|ab)++c', 'abc', null, undefined],
    ];
    for (const [pattern, text, groups, named] of cases) {
      const compiled = compilePattern(pattern);
      const match = compiled.exec(text);
      expect(match === null ? null : [...match], pattern).toEqual(groups);
      if (match) expect(match.groups, pattern).toEqual(named);
      expect(compiled.groupCount, pattern).toBe(groups === null ? compiled.groupCount : groups.length - 1);
      expect(compiled.fallbackReason, pattern).toMatch(/atomic group or possessive quantifier/);
    }
    expect(compilePattern('x(?P<n>\\d)*+\\d').groupNames).toEqual(['n']);
  });

  it('patterns without them are left as they were (RE2 still runs them)', () => {
    expect(compilePattern('a+b*c?(?:d){2}').engine).not.toBe('js');
    expect(compilePattern('[+]+').engine).not.toBe('js');
  });
});
