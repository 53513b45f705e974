import RE2 from 're2';
import { clip, ConfigError } from '../config/errors.js';
import { hasSurrogate, linearJsRegExp } from './linear-js.js';
import { requiredLiterals } from './literals.js';
import { refuseCatastrophicBacktracking } from './redos.js';
import { rewriteAtomic, syntheticIndexes, withoutSynthetic } from './atomic.js';

export interface CompiledPattern {
  /** `exec` like RegExp: index 0 the whole match, then numbered groups; `.groups` for named ones. */
  exec(text: string): RegExpExecArray | null;
  /** `re2`, `irregexp` (same meaning as RE2, linear fallback on) or `js` (backtracking, RE2 refused it). */
  readonly engine: 're2' | 'irregexp' | 'js';
  readonly groupCount: number;
  readonly groupNames: readonly string[];
  /** Set when RE2 refused the pattern: why it runs on the backtracking engine. */
  readonly fallbackReason?: string;
  /** Set when the fallback pattern can backtrack more than linearly (an exponential one is refused). */
  readonly backtracking?: string;
}

/**
 * Translates Python `re` syntax to JavaScript syntax: `(?P<n>` → `(?<n>`, `(?P=n)` → `\k<n>`,
 * `\A` → `^`, `\Z` → `$`, a leading `(?i)`/`(?s)`/`(?m)` → flags.
 */
export function translatePythonPattern(pattern: string): { source: string; flags: string } {
  let flags = '';
  let rest = pattern;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(rest);
  if (inline) {
    for (const f of inline[1]!) if ('ims'.includes(f) && !flags.includes(f)) flags += f;
    rest = rest.slice(inline[0].length);
  }
  let out = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const next = rest[i + 1] ?? '';
      if (next === 'A') out += '^';
      else if (next === 'Z') out += '$';
      else out += c + next;
      i++;
    } else if (rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (rest.startsWith('(?P=', i)) {
      const end = rest.indexOf(')', i);
      out += `\\k<${rest.slice(i + 4, end)}>`;
      i = end;
    } else out += c;
  }
  return { source: out, flags };
}

/** Compiles with RE2 (linear time); falls back to the JS engine only for what RE2 refuses. */
export function compilePattern(pattern: string, argsSubPath = 're'): CompiledPattern {
  const translated = translatePythonPattern(pattern);
  const { flags } = translated;
  // Pyruse compat: Python 3.11's atomic groups and possessive quantifiers, as lookahead + back-reference
  const atomic = rewriteAtomic(translated.source);
  const source = atomic?.source ?? translated.source;
  let regex: { exec(text: string): RegExpExecArray | null };
  let probe: RegExpExecArray | null;
  let engine: CompiledPattern['engine'] = 're2';
  let fallbackReason: string | undefined;
  let backtracking: string | undefined;
  try {
    regex = new RE2(source, flags);
    probe = new RE2(`${source}|`, flags).exec('');
  } catch (re2Error) {
    try {
      regex = new RegExp(source, flags);
      probe = new RegExp(`${source}|`, flags).exec('');
    } catch (jsError) {
      const reason = (jsError as Error).message.replace(/^Invalid regular expression: /, '').replace(`/${source}/`, () => `/${clip(source)}/`);
      throw new ConfigError('E_BAD_REGEX', `invalid regular expression: ${reason}`, argsSubPath);
    }
    engine = 'js';
    fallbackReason = (re2Error as Error).message;
    backtracking = refuseCatastrophicBacktracking(source, flags, argsSubPath);
  }
  if (atomic) {
    const names = atomic.synthetic;
    const indexes = syntheticIndexes(source, names);
    const raw = regex;
    regex = { exec: (text) => withoutSynthetic(raw.exec(text), indexes, names) };
    probe = withoutSynthetic(probe, indexes, names);
    fallbackReason = 'atomic group or possessive quantifier, run as a lookahead and back-reference on the JS engine (the same matches as Python)';
  }
  const groupCount = probe ? probe.length - 1 : 0;
  const groupNames = probe?.groups ? Object.keys(probe.groups) : [];
  const literals = engine === 're2' ? requiredLiterals(source, flags) : undefined;
  const fast = engine === 're2' ? linearJsRegExp(source, flags) : undefined;
  if (fast) {
    const re2 = regex;
    engine = 'irregexp';
    regex = { exec: (text) => (hasSurrogate(text) ? re2.exec(text) : fast.exec(text)) };
  }
  let exec = (text: string) => regex.exec(text);
  if (literals) {
    const { prefix, contains } = literals;
    exec = (text) => {
      if (prefix !== '' && !text.startsWith(prefix)) return null;
      for (let i = 0; i < contains.length; i++) if (!text.includes(contains[i]!)) return null;
      return regex.exec(text);
    };
  }
  return { exec, engine, groupCount, groupNames, fallbackReason, backtracking };
}
