import RE2 from 're2';
import { clip, ConfigError } from '../config/errors.js';
import { hasSurrogate, linearJsRegExp } from './linear-js.js';
import { requiredLiterals } from './literals.js';
import { refuseCatastrophicBacktracking } from './redos.js';
import { rewriteAtomic, syntheticIndexes, withoutSynthetic } from './atomic.js';
import { parsePythonPattern } from './python-regex.js';

export interface CompiledPattern {
  /** `exec` like RegExp: index 0 the whole match, then numbered groups; `.groups` for named ones. */
  exec(text: string): RegExpExecArray | null;
  /**
   * The engine of ASCII text (the common case): `re2`, `irregexp` (same meaning as RE2, linear
   * fallback on) or `js` (backtracking, with the `u` flag: RE2 cannot say the pattern).
   */
  readonly engine: 're2' | 'irregexp' | 'js';
  readonly groupCount: number;
  readonly groupNames: readonly string[];
  /** Set when RE2 refused the pattern: why it runs on the backtracking engine. */
  readonly fallbackReason?: string;
  /** Set when the fallback pattern can backtrack more than linearly (an exponential one is refused). */
  readonly backtracking?: string;
  /**
   * Set when some text (not all) runs on the backtracking JS engine, to keep Python's meaning:
   * "non-ASCII text" (a Unicode `\b`, or `\W` beside other class members), "text of several
   * lines ending in a newline" (a `$`), or both.
   */
  readonly backtrackingOn?: string;
}

type Exec = (text: string) => RegExpExecArray | null;

/**
 * Translates Python `re` syntax to RE2 syntax with Python's meaning on any text, where RE2 can say
 * it (else its meaning on ASCII text): see {@link parsePythonPattern} for the three forms.
 */
export function translatePythonPattern(pattern: string): { source: string; flags: string } {
  const parsed = parsePythonPattern(pattern);
  return { source: parsed.unicodeSource ?? parsed.asciiSource, flags: parsed.flags };
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * V8 (with the `u` flag) may report an empty match between the two halves of a surrogate pair,
 * where Python, counting code points, has no position: such a match is skipped.
 */
function execWholeCodePoints(regex: RegExp, text: string): RegExpExecArray | null {
  regex.lastIndex = 0;
  for (;;) {
    const match = regex.exec(text);
    if (match === null) return null;
    const at = match.index;
    const inPair = at > 0 && at < text.length && (text.charCodeAt(at) & 0xfc00) === 0xdc00 && (text.charCodeAt(at - 1) & 0xfc00) === 0xd800;
    if (!inPair) return match;
    regex.lastIndex = at + 1;
  }
}

/**
 * The groups of a pattern RE2 compiled: `PATTERN|` matches the empty string with every group
 * unset. V8 compiles a RegExp only when it first runs, so asking it costs far less than a second
 * RE2 compile (half of `check`'s pattern time); RE2 answers for syntax V8 does not take.
 */
function groupProbe(source: string, flags: string): RegExpExecArray | null {
  try {
    return new RegExp(`${source}|`, flags).exec('');
  } catch {
    return new RE2(`${source}|`, flags).exec('');
  }
}

/**
 * Compiles a Python pattern. ASCII text runs on RE2, or on irregexp where that provably means the
 * same (linear-js.ts), after a literal prefilter. Where Python's Unicode `\w \d \s \b` make other
 * text differ, that text runs on a Unicode form (RE2 with `\p{…}`, or the JS engine for `\b`); text
 * ending in "\n" runs on the JS form when the pattern has a `$` (Python's `$` matches before it).
 * What RE2 refuses (backreferences, lookarounds) runs on the JS form for all text.
 */
export function compilePattern(pattern: string, argsSubPath = 're'): CompiledPattern {
  const parsed = parsePythonPattern(pattern, argsSubPath);
  const { asciiSource, flags } = parsed;
  let js: RegExp | undefined;
  let jsError: Error | undefined;
  // Pyruse compat: Python 3.11's atomic groups and possessive quantifiers, as lookahead + back-reference
  const atomic = parsed.jsSource !== undefined ? rewriteAtomic(parsed.jsSource) : undefined;
  const jsSource = atomic?.source ?? parsed.jsSource;
  const hidden = atomic ? syntheticIndexes(atomic.source, atomic.synthetic) : [];
  const reported = (match: RegExpExecArray | null) => (atomic ? withoutSynthetic(match, hidden, atomic.synthetic) : match);
  const jsExact = (): { exec: Exec } | undefined => {
    if (js === undefined && jsError === undefined && jsSource !== undefined) {
      try { js = new RegExp(jsSource, `${parsed.jsFlags}g`); } catch (e) { jsError = e as Error; }
    }
    return js === undefined ? undefined : { exec: (text) => reported(execWholeCodePoints(js!, text)) };
  };

  let ascii: { exec: Exec } | undefined;
  let re2Error: Error | undefined;
  let probe: RegExpExecArray | null = null;
  if (parsed.re2Refuses === undefined && atomic === undefined) {
    try {
      ascii = new RE2(asciiSource, flags);
      probe = groupProbe(asciiSource, flags);
    } catch (e) {
      re2Error = e as Error;
    }
  }
  if (ascii === undefined) {
    // RE2 cannot run it: the JS form, Python's meaning on all text, backtracking
    const exact = jsExact();
    if (!exact) {
      // the message of the plainest form, which reads like the pattern as written
      let plainError: Error | undefined;
      try { new RegExp(asciiSource, flags); } catch (e) { plainError = e as Error; }
      const why = (plainError ?? jsError)?.message.replace(/^Invalid regular expression: /, '').replace(asciiSource, () => clip(asciiSource)) ?? 'scoped flags (?i:…) with a construct RE2 refuses';
      throw new ConfigError('E_BAD_REGEX', `invalid regular expression: ${why}`, argsSubPath);
    }
    const exactProbe = reported(new RegExp(`${jsSource}|`, parsed.jsFlags).exec(''));
    const backtracking = refuseCatastrophicBacktracking(jsSource!, parsed.jsFlags, argsSubPath);
    return {
      exec: (text) => exact.exec(text), engine: 'js',
      groupCount: exactProbe ? exactProbe.length - 1 : 0, groupNames: exactProbe?.groups ? Object.keys(exactProbe.groups) : [],
      fallbackReason: atomic
        ? 'atomic group or possessive quantifier, run as a lookahead and back-reference on the JS engine (the same matches as Python)'
        : parsed.re2Refuses ?? re2Error?.message,
      ...(backtracking !== undefined ? { backtracking } : {}),
    };
  }

  let engine: CompiledPattern['engine'] = 're2';
  const backtrackingOn: string[] = [];
  const groupCount = probe ? probe.length - 1 : 0;
  const groupNames = probe?.groups ? Object.keys(probe.groups) : [];

  // text that is not all ASCII: the Unicode form where the meaning differs
  let other: Exec = ascii.exec.bind(ascii);
  if (parsed.unicodeSensitive) {
    let unicode: { exec: Exec } | undefined;
    if (parsed.unicodeSource !== undefined) {
      try { unicode = new RE2(parsed.unicodeSource, flags); } catch { unicode = undefined; }
    }
    const backtracks = unicode === undefined;
    unicode ??= jsExact();
    if (unicode === undefined) throw new ConfigError('E_BAD_REGEX', 'this pattern cannot run with Python\'s Unicode meaning of \\w \\d \\s \\b here; add (?a) to match ASCII only', argsSubPath);
    other = unicode.exec.bind(unicode);
    if (backtracks) backtrackingOn.push('non-ASCII text');
  }

  const fast = linearJsRegExp(asciiSource, flags);
  let run: Exec;
  if (fast) {
    engine = 'irregexp';
    const re2 = ascii;
    // without the Unicode question, only astral characters (counted as one by RE2) leave irregexp
    run = parsed.unicodeSensitive
      ? (text) => (NON_ASCII.test(text) ? other(text) : fast.exec(text))
      : (text) => (hasSurrogate(text) ? re2.exec(text) : fast.exec(text));
  } else {
    const re2 = ascii;
    run = parsed.unicodeSensitive ? (text) => (NON_ASCII.test(text) ? other(text) : re2.exec(text)) : (text) => re2.exec(text);
  }

  if (parsed.dollarBeforeNewline) {
    // Python's $ also matches before a final "\n". Text whose only newline is that last one runs
    // on RE2 in MULTILINE mode, where $ means just that (linear time, as every line an attacker
    // can end with "\n"); text with more lines runs on the JS form.
    const eol = parsePythonPattern(pattern, argsSubPath, true);
    let lastLine: { exec: Exec } | undefined;
    if (eol.unicodeSource !== undefined) {
      try { lastLine = new RE2(eol.unicodeSource, eol.flags); } catch { lastLine = undefined; }
    }
    const exact = jsExact();
    if (exact === undefined && lastLine === undefined) throw new ConfigError('E_BAD_REGEX', 'this pattern\'s $ cannot run with Python\'s meaning (it also matches before a final newline) together with scoped flags; write \\Z for the very end', argsSubPath);
    if (exact !== undefined) backtrackingOn.push(lastLine === undefined ? 'text ending in a newline' : 'text of several lines ending in a newline');
    const plain = run;
    run = (text) => {
      const last = text.length - 1;
      if (text.charCodeAt(last) !== 10) return plain(text);
      return lastLine !== undefined && (exact === undefined || text.indexOf('\n') === last) ? lastLine.exec(text) : exact!.exec(text);
    };
  }

  if (parsed.nonBoundary) {
    const empty = parsePythonPattern(pattern, argsSubPath, false, true);
    let onEmpty: { exec: Exec } | undefined;
    try { onEmpty = new RE2(empty.asciiSource, empty.flags); } catch { onEmpty = undefined; }
    if (onEmpty !== undefined) {
      const whenEmpty = onEmpty;
      const plain = run;
      run = (text) => (text.length === 0 ? whenEmpty.exec(text) : plain(text));
    }
  }

  const literals = requiredLiterals(asciiSource, flags);
  let exec = run;
  if (literals) {
    const { prefix, contains } = literals;
    exec = (text) => {
      if (prefix !== '' && !text.startsWith(prefix)) return null;
      for (let i = 0; i < contains.length; i++) if (!text.includes(contains[i]!)) return null;
      return run(text);
    };
  }
  return { exec, engine, groupCount, groupNames, ...(backtrackingOn.length > 0 ? { backtrackingOn: backtrackingOn.join(' and ') } : {}) };
}
