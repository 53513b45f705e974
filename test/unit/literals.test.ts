import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requiredLiterals } from '../../src/text/literals.js';
import { compilePattern } from '../../src/text/regex.js';
import { asPythonSearch, pythonSearch } from '../helpers/python-re.js';

function patternsOf(file: string): string[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { actions: Record<string, { args?: { re?: string | string[] } }[]> };
  return Object.values(config.actions).flat().flatMap((s) => (s.args?.re === undefined ? [] : Array.isArray(s.args.re) ? s.args.re : [s.args.re]));
}

describe('required-literal prefilter', () => {
  it('finds the anchored prefix and the literal runs of the top-level sequence', () => {
    expect(requiredLiterals('^DNAT/ssh:.* SRC=([^ ]+) DST=', '')).toEqual({ prefix: 'DNAT/ssh:', contains: [' SRC=', ' DST='] });
    expect(requiredLiterals('Authenticated as (.*)$', '')).toEqual({ prefix: '', contains: ['Authenticated as '] });
  });

  it('drops optional characters and gives up on alternatives, inline flags and case-insensitivity', () => {
    expect(requiredLiterals('abc?d', '')).toEqual({ prefix: '', contains: ['ab'] });
    expect(requiredLiterals('x{2}yz', '')).toEqual({ prefix: '', contains: ['yz'] });
    expect(requiredLiterals('foo|bar', '')).toBeUndefined();
    expect(requiredLiterals('abc(?i)def', '')).toBeUndefined();
    expect(requiredLiterals('abcdef', 'i')).toBeUndefined();
  });

  it('never changes a result: every config pattern against every message of a corpus, with and without the prefilter', () => {
    const patterns = [
      ...patternsOf('/work/shared/fixtures/pyruse-full-example.json'),
      ...patternsOf('/work/shared/corpus/bench-config.json'),
      ...patternsOf(new URL('../../examples/peruse.json', import.meta.url).pathname),
      'ab+c?d', 'a.b*c', '^\\{core\\} Login', 'x😀?y', '[]a]bc', 'q[^]]rs', '\\x41\\.B', 'C\\x41D', '\\101BC',
    ];
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'peruse-literals-')), 'corpus.log');
    execFileSync('node', ['/work/shared/corpus/gen-corpus.mjs', '--entries', '3000', '--seed', '3', '--format', 'syslog', '--out', out]);
    const corpus = readFileSync(out, 'utf8');
    const messages = corpus.split('\n').map((l) => l.replace(/^\w+ +\d+ [\d:]+ \S+ [^:]+: /, ''));
    messages.push('ab', 'abd', 'abbd', 'acd', 'xy', 'x😀y', ']bc', 'abc', 'qrs', 'q]rs', 'qxrs', '{core} Login failed', 'A.B', 'xA.By', 'CAD', 'ABC');
    let compared = 0;
    // the reference is Python's re itself, which has no prefilter
    const python = pythonSearch(patterns, messages);
    patterns.forEach((source, p) => {
      const want = python[p]!;
      if ('error' in want) throw new Error(`${source}: ${want.error}`);
      const filtered = compilePattern(source);
      messages.forEach((message, m) => {
        expect(asPythonSearch(message, filtered.exec(message)), `${source} on ${message}`).toEqual(want.results[m]);
        compared++;
      });
    });
    expect(compared).toBeGreaterThan(100_000);
  });
});
