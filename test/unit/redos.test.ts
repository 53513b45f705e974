import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { compilePattern } from '../../src/text/regex.js';
import { growsExponentially, hasAmbiguousLoop } from '../../src/text/redos.js';

describe('ReDoS screening of fallback patterns', () => {
  const ambiguous = ['^(a|a)*\\1$', '(a+)+\\1b', '^(x+x+)+\\1y', '^((ab)*)+\\1$', '(?<=foo)(a+)+$', '(?:\\s*x*){9}\\1', '(a|b){3}', '((a|b))*', '(?:(?:a|b))+', '(?:x\\+?)+', '( port \\d+)+', '(a|a){2,}', '(a|a){0,5}'];
  const oneWay = [
    '^(\\w+) \\1$', '(\\w+)\\s+\\1', '(?:x\\+)+\\1', '^\\[[A-Z](?!OTICE)(?!EBUG)', '(a)*\\1', '(?:ab)+?\\1', '[(|)]+(x)\\1', '\\(a|b\\)*', '(a|b)\\1', '(?:a)??', '(a*?)\\1', '(?:a|b)??\\1(?:c)*',
    'Redirect to: https://[^/]*/sso/\\?r=(.*), client: (?<thatIP>.*), server: , request: "POST /sso/\\?r=\\1 HTTP/1\\.1"',
  ];

  it('a repeated group whose body holds an alternation or a quantifier goes to the full analysis', () => {
    for (const source of ambiguous) expect(hasAmbiguousLoop(source), source).toBe(true);
  });

  it('an ambiguous group that is only optional (?, {0,1}) cannot multiply the ways: it skips the analysis', () => {
    for (const source of ['^Failed (?!invalid user)(?<user>.+?) from (?<host>\\S+)( port \\d+)?(?: ssh\\d*)?$', '(?:user=(?<user>[^,]*), )?ip=\\[', '(a|a){0,1}\\1', '(a+){1}\\1']) {
      expect(hasAmbiguousLoop(source), source).toBe(false);
    }
  });

  it('a pattern without such a group skips it: brackets in classes and escaped brackets are text', () => {
    for (const source of oneWay) expect(hasAmbiguousLoop(source), source).toBe(false);
  });

  it('compilePattern refuses an exponential fallback pattern with E_REDOS under its args path', () => {
    let error: unknown;
    try { compilePattern('^(a|a)*\\1$', 're[3]'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('E_REDOS');
    expect((error as ConfigError).argsSubPath).toBe('re[3]');
    expect((error as ConfigError).message).toContain("'a'.repeat(");
  });

  it('compilePattern keeps a backreference pattern that matches one way on the JS engine', () => {
    const pattern = compilePattern('^(\\w+) said \\1$');
    expect(pattern.engine).toBe('js');
    expect(pattern.backtracking).toBeUndefined();
    expect(pattern.exec('bob said bob')?.[1]).toBe('bob');
  });

  it('the JS engine confirms an exponential attack, and not a polynomial one that recheck timed as exponential on a busy machine', () => {
    expect(growsExponentially('^(a|a)*\\1$', '', { pumps: [{ prefix: '', pump: 'a' }], suffix: '\x00' })).toBe(true);
    // the Pyruse example's pattern, with the attack recheck gave for it when its attack timeout was short
    const pyruse = 'Redirect to: https://[^/]*/sso/\\?r=(.*), client: (?<thatIP>.*), server: , request: "POST /sso/\\?r=\\1 HTTP/1\\.1", host: "[^/]*", referrer: "https://[^/]*/sso/\\?r=\\1"$';
    expect(growsExponentially(pyruse, '', { pumps: [{ prefix: 'Redirect to: https:///sso/?r=', pump: ', client: , server: , request: "POST /sso/?r=R' }], suffix: '\n' })).toBe(false);
  });
});
