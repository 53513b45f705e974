import RE2 from 're2';
import { ConfigError } from '../config/errors.js';
import { hasSurrogate, linearJsRegExp } from './linear-js.js';
import { requiredLiterals } from './literals.js';

export interface CompiledPattern {
  /** `exec` like RegExp: index 0 the whole match, then numbered groups; `.groups` for named ones. */
  exec(text: string): RegExpExecArray | null;
  /** `re2`, `irregexp` (same meaning as RE2, linear fallback on) or `js` (backtracking, RE2 refused it). */
  readonly engine: 're2' | 'irregexp' | 'js';
  readonly groupCount: number;
  readonly groupNames: readonly string[];
  /** Set when RE2 refused the pattern: why it runs on the backtracking engine. */
  readonly fallbackReason?: string;
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

/** Compiles with RE2 (linear time); falls back to the JS engine only for what RE2 refuses. */
export function compilePattern(pattern: string, argsSubPath = 're'): CompiledPattern {
  const { source, flags } = translatePythonPattern(pattern);
  let regex: { exec(text: string): RegExpExecArray | null };
  let probe: RegExpExecArray | null;
  let engine: CompiledPattern['engine'] = 're2';
  let fallbackReason: string | undefined;
  try {
    regex = new RE2(source, flags);
    probe = groupProbe(source, flags);
  } catch (re2Error) {
    try {
      regex = new RegExp(source, flags);
      probe = new RegExp(`${source}|`, flags).exec('');
    } catch (jsError) {
      throw new ConfigError('E_BAD_REGEX', `invalid regular expression: ${(jsError as Error).message.replace(/^Invalid regular expression: /, '')}`, argsSubPath);
    }
    engine = 'js';
    fallbackReason = (re2Error as Error).message;
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
  return { exec, engine, groupCount, groupNames, fallbackReason };
}
