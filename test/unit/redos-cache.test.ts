import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

// a fallback pattern (RE2 refuses the lookbehind) with a repeated alternation: recheck judges it
const PATTERN = '(?<=user )(?:ab|a)+ from$';
const REGEX = path.resolve(import.meta.dirname, '../../dist/src/text/regex.js');

/** compilePattern in a fresh process (the verdicts of this one stay in its memory): its error code and message. */
async function compileIn(cacheDir: string): Promise<{ code?: string; message?: string }> {
  const script = `const { compilePattern } = await import(${JSON.stringify(REGEX)});
    try { compilePattern(${JSON.stringify(PATTERN)}); console.log('{}'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const { stdout, stderr } = await (async () => {
    const previous = process.env.PERUSE_CACHE_DIR;
    process.env.PERUSE_CACHE_DIR = cacheDir;
    try { return await runAsync('node', ['--input-type=module', '-e', script]); } finally {
      if (previous === undefined) delete process.env.PERUSE_CACHE_DIR; else process.env.PERUSE_CACHE_DIR = previous;
    }
  })();
  expect(stderr).toBe('');
  return JSON.parse(stdout) as { code?: string; message?: string };
}

describe('the ReDoS verdicts kept between runs', () => {
  it('a judged pattern is written to the cache, and the next process takes the verdict from it instead of judging', async () => {
    const first = mkdtempSync(path.join(tmpdir(), 'peruse-verdicts-'));
    expect(await compileIn(first)).toEqual({});
    const file = path.join(first, 'regex-verdicts.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { tag: string; verdicts: Record<string, object> };
    expect(saved.tag).toMatch(/^recheck \d+\.\d+\.\d+, judge \d+$/);
    expect(Object.keys(saved.verdicts)).toHaveLength(1);
    // a forged refusal in the cache is what the next process answers: it read the verdict, it did not judge
    const forged = mkdtempSync(path.join(tmpdir(), 'peruse-verdicts-'));
    const key = Object.keys(saved.verdicts)[0]!;
    writeFileSync(path.join(forged, 'regex-verdicts.json'), JSON.stringify({ tag: saved.tag, verdicts: { [key]: { refusal: 'forged verdict' } } }));
    expect(await compileIn(forged)).toEqual({ code: 'E_REDOS', message: 'forged verdict' });
  }, 60_000);

  it('verdicts of another recheck or judge version are judged again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-verdicts-'));
    expect(await compileIn(dir)).toEqual({});
    const file = path.join(dir, 'regex-verdicts.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { tag: string; verdicts: Record<string, object> };
    const key = Object.keys(saved.verdicts)[0]!;
    writeFileSync(file, JSON.stringify({ tag: 'recheck 0.0.1, judge 0', verdicts: { [key]: { refusal: 'forged verdict' } } }));
    expect(await compileIn(dir)).toEqual({});
    expect((JSON.parse(readFileSync(file, 'utf8')) as { tag: string }).tag).toBe(saved.tag);
  }, 60_000);

  it('a damaged cache file is judged again and written anew, and an unwritable cache directory changes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-verdicts-'));
    const file = path.join(dir, 'regex-verdicts.json');
    writeFileSync(file, '{"tag": "recheck');
    expect(await compileIn(dir)).toEqual({});
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { verdicts: object }).verdicts)).toHaveLength(1);
    // a file where the directory should be: nothing can be written, the pattern still compiles
    expect(await compileIn(path.join(file, 'not-a-dir'))).toEqual({});
  }, 60_000);
});
