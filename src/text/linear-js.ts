import { createRequire } from 'node:module';

/**
 * V8's own regex engine (irregexp) runs log patterns 10–25× faster than RE2 through its node
 * binding (which copies every subject to UTF-8). It backtracks, though, so a hostile line could
 * make it run for minutes. V8 can fall back to its breadth-first engine (linear time, like RE2)
 * once a match has backtracked too often; the fallback exists only for patterns that engine can
 * take, which the `l` flag tells at compile time. So a pattern runs on irregexp only when:
 * - the fallback is switched on in this process (checked, not assumed),
 * - the breadth-first engine accepts it (`l` compiles),
 * - its RE2 and JS meanings are provably the same (see {@link toSameMeaningJsSource}).
 * Everything else keeps running on RE2.
 */

const BACKTRACKS_BEFORE_FALLBACK = 10_000;

let fallbackActive: boolean | undefined;

/** Switches the breadth-first fallback on once; true when this V8 honours it. */
export function linearFallbackActive(): boolean {
  if (fallbackActive !== undefined) return fallbackActive;
  try {
    // node:v8 by require, not import: its module loads the whole perf_hooks family with it
    const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
    // must precede the construction of any RegExp that should fall back: V8 decides per RegExp
    v8.setFlagsFromString('--enable-experimental-regexp-engine');
    v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    v8.setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_FALLBACK}`);
    new RegExp('a', 'l');
    fallbackActive = true;
  } catch {
    fallbackActive = false;
  }
  return fallbackActive;
}

const RE2_SPACE = '\\t\\n\\f\\r ';
const HEX2 = /^[0-9A-Fa-f]{2}$/;

/**
 * Rewrites an RE2 source (already translated from Python) to a JS source, without the `u` flag,
 * that matches exactly what RE2 matches on text without astral characters (callers send text
 * holding surrogates to RE2). Returns undefined for anything whose meaning could differ:
 * - `\s` is RE2's ASCII `[\t\n\f\r ]` (JS's `\s` is Unicode), `.` excludes only `\n` (JS's also
 *   excludes `\r`, U+2028, U+2029): both are spelled out;
 * - a `]` first in a class is a member in RE2 (in JS `[]` is empty and `[^]` is anything);
 * - `i` and `m` flags (Unicode case folding, JS's wider line terminators), `\p`, `\Q`, `\z`, `\C`,
 *   octal and `\x{…}` escapes, POSIX classes, inline flag groups, non-BMP characters in the pattern:
 *   left to RE2.
 */
export function toSameMeaningJsSource(source: string, flags: string): string | undefined {
  if (flags !== '' && flags !== 's') return undefined;
  const dotAll = flags === 's';
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return undefined;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) return undefined;
      i++;
      if ('dDwW'.includes(next)) out += `\\${next}`;
      else if ('bB'.includes(next)) {
        if (inClass) return undefined; // RE2 refuses it there; JS reads backspace
        out += `\\${next}`;
      } else if (next === 's') out += inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      else if (next === 'S') {
        if (inClass) return undefined;
        out += `[^${RE2_SPACE}]`;
      } else if ('nrtfv'.includes(next)) out += `\\${next}`;
      else if (next === 'x') {
        const hex = source.slice(i + 1, i + 3);
        if (!HEX2.test(hex)) return undefined;
        out += `\\x${hex}`;
        i += 2;
      } else if (/[A-Za-z0-9]/.test(next)) return undefined;
      else out += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (c === ']') { inClass = false; out += c; }
      else if (c === '[') {
        if (source[i + 1] === ':' || source[i + 1] === '=' || source[i + 1] === '.') return undefined;
        out += '\\[';
      } else out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') { out += '^'; i++; }
      if (source[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      if (source[i + 2] === ':') { out += '(?:'; i += 2; continue; }
      const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(source.slice(i, i + 260));
      if (!named) return undefined;
      out += `(?<${named[1]}>`;
      i += named[0].length - 1;
      continue;
    }
    if (c === '.') { out += dotAll ? '[^]' : '[^\\n]'; continue; }
    out += c;
  }
  if (inClass) return undefined;
  return repetitionsAgree(out) ? out : undefined;
}

interface Shape { nullable: boolean; captures: boolean }

const QUANTIFIER = /^(?:[*+?]|\{(\d+)(?:,\d*)?\})/;

/**
 * Whether RE2 and JS agree on every repeated group of a JS source. They differ in two places:
 * JS rejects an iteration that matches nothing (RE2 accepts one: `(x*)*y` captures "" in RE2,
 * nothing in JS; `(?:|a)*` even matches different text), and JS forgets the captures of a group's
 * earlier iterations (`(?:(a)|b)+` on "ab": RE2 keeps "a"). So a repeated group must neither
 * match empty nor hold a capture; anything else (`[^ ]+`, `(?:\([^)]*\) )?`) is the same in both.
 */
function repetitionsAgree(source: string): boolean {
  let i = 0;
  const fail = (): never => { throw new Error('disagree'); };
  const alternatives = (): Shape => {
    let nullable = false, captures = false;
    for (;;) {
      const branch = sequence();
      nullable ||= branch.nullable;
      captures ||= branch.captures;
      if (source[i] !== '|') return { nullable, captures };
      i++;
    }
  };
  const sequence = (): Shape => {
    let nullable = true, captures = false;
    while (i < source.length && source[i] !== '|' && source[i] !== ')') {
      const atom = atomAt();
      const quantifier = QUANTIFIER.exec(source.slice(i, i + 24));
      let atomNullable = atom.nullable;
      if (quantifier) {
        i += quantifier[0].length;
        if (source[i] === '?') i++;
        if (atom.group && (atom.nullable || atom.captures)) fail();
        const min = quantifier[0] === '+' ? 1 : quantifier[1] === undefined ? 0 : Number(quantifier[1]);
        if (min === 0) atomNullable = true;
      }
      nullable &&= atomNullable;
      captures ||= atom.captures;
    }
    return { nullable, captures };
  };
  const atomAt = (): Shape & { group: boolean } => {
    const c = source[i]!;
    if (c === '(') {
      const capturing = !source.startsWith('(?:', i);
      i = capturing && source[i + 1] === '?' ? source.indexOf('>', i) + 1 : i + (capturing ? 1 : 3);
      const inner = alternatives();
      if (source[i] !== ')') fail();
      i++;
      return { nullable: inner.nullable, captures: capturing || inner.captures, group: true };
    }
    if (c === '[') {
      // JS reading: `[]` and `[^]` end at once (a leading `]` member was escaped before)
      i++;
      if (source[i] === '^') i++;
      for (; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      i++;
      return { nullable: false, captures: false, group: false };
    }
    if (c === '\\') {
      const next = source[i + 1];
      i += 2;
      return { nullable: next === 'b' || next === 'B', captures: false, group: false };
    }
    i++;
    return { nullable: c === '^' || c === '$', captures: false, group: false };
  };
  try {
    alternatives();
    return i === source.length;
  } catch {
    return false;
  }
}

/** A JS RegExp for `source` that runs on irregexp with the linear fallback, or undefined. */
export function linearJsRegExp(source: string, flags: string): RegExp | undefined {
  if (!linearFallbackActive()) return undefined;
  const jsSource = toSameMeaningJsSource(source, flags);
  if (jsSource === undefined) return undefined;
  try {
    new RegExp(jsSource, 'l'); // the breadth-first engine takes it: so the fallback exists
    return new RegExp(jsSource);
  } catch {
    return undefined;
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** RE2 counts code points, JS without `u` code units: text with astral characters goes to RE2. */
export function hasSurrogate(text: string): boolean {
  return SURROGATE.test(text);
}
