import { createRequire } from 'node:module';
import type { Diagnostics } from 'recheck';
import { clip, ConfigError } from '../config/errors.js';
import { cachedVerdict, saveVerdict, type Verdict } from './redos-cache.js';

/** recheck's own limit; a pattern it cannot judge in this time is kept, with a warning. */
const CHECK_TIMEOUT_MS = 10_000;

/** Milliseconds, from hrtime: node:perf_hooks is not loaded by `check` for this alone. */
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

type CheckSync = (source: string, flags: string, params?: { timeout?: number; randomSeed?: number }) => Diagnostics;
let checkSync: CheckSync | undefined;
/** One verdict per pattern for the life of the process: a SIGHUP reload does not pay again. */
const verdicts = new Map<string, Verdict>();

/**
 * For a pattern RE2 refused, which then runs on the backtracking JS engine: refuses it (E_REDOS)
 * when some line can make it backtrack exponentially, as recheck (a ReDoS checker) proves with an
 * attack string. Returns a note for the warning when the cost is polynomial (kept: Pyruse configs
 * have such patterns, and a journal line is short) or could not be judged.
 */
export function refuseCatastrophicBacktracking(source: string, flags: string, argsSubPath: string): string | undefined {
  if (!hasAmbiguousLoop(source)) return undefined;
  const key = `${flags}/${source}`;
  let verdict = verdicts.get(key);
  if (!verdict) {
    verdict = cachedVerdict(source, flags);
    if (!verdict) {
      verdict = judge(source, flags);
      saveVerdict(source, flags, verdict);
    }
    verdicts.set(key, verdict);
  }
  if (verdict.refusal) throw new ConfigError('E_REDOS', verdict.refusal, argsSubPath);
  return verdict.note;
}

/**
 * Exponential backtracking needs a repeated group whose body can match one text in several ways,
 * which takes an alternation or a quantifier inside it: `(a|a)*`, `(a+)+`, `(?:\s*x*){9}`. A body
 * without either matches a text one way only (a backreference matches a fixed text, a lookaround is
 * atomic in JS). Patterns with no such group, most fallback ones, skip the costly analysis.
 */
export function hasAmbiguousLoop(source: string): boolean {
  // for each open group: does its body hold an alternation or a quantifier?
  const open: boolean[] = [];
  let closedAmbiguous = false; // the group that just closed, if a quantifier follows it
  let previous: 'open' | 'quantifier' | 'other' = 'other';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const quantifier = c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(?:,\d*)?\}/.test(source.slice(i, i + 24)));
    // `?` right after `(` opens a special group, after a quantifier it makes it lazy: not a quantifier then
    if (quantifier && !(c === '?' && previous !== 'other')) {
      // only a repeat can multiply the ways: an ambiguous group made optional (`?`, `{0,1}`) cannot
      if (closedAmbiguous && repeats(c === '{' ? source.slice(i, source.indexOf('}', i) + 1) : c)) return true;
      if (open.length > 0) open[open.length - 1] = true;
      if (c === '{') i = source.indexOf('}', i);
      previous = 'quantifier';
      continue;
    }
    previous = c === '(' ? 'open' : 'other';
    closedAmbiguous = false;
    if (c === '\\') i++;
    else if (c === '[') {
      // a class is one character whatever it holds; `]` first in it is literal
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
    } else if (c === '(') open.push(false);
    else if (c === ')') {
      const ambiguous = open.pop() ?? false;
      if (ambiguous && open.length > 0) open[open.length - 1] = true;
      closedAmbiguous = ambiguous;
    } else if (c === '|') {
      if (open.length > 0) open[open.length - 1] = true;
    }
  }
  return false;
}

/** Whether a quantifier lets its atom match more than once: `*`, `+`, `{2}`, `{0,5}`, `{1,}`, not `?` or `{0,1}`. */
function repeats(quantifier: string): boolean {
  if (quantifier === '?') return false;
  const bounds = /^\{(\d+)(,(\d*))?\}$/.exec(quantifier);
  if (!bounds) return true;
  const most = bounds[2] === undefined ? Number(bounds[1]) : bounds[3] === '' ? Infinity : Number(bounds[3]);
  return most > 1;
}

function judge(source: string, flags: string): Verdict {
  // loaded only for a fallback pattern: 3 MB of JavaScript most configs never need
  checkSync ??= (createRequire(import.meta.url)('recheck') as { checkSync: CheckSync }).checkSync;
  // recheck's pure-JavaScript analyser, in this thread: no worker, no Java, no native helper
  const backend = process.env.RECHECK_SYNC_BACKEND;
  process.env.RECHECK_SYNC_BACKEND = 'pure';
  let result: Diagnostics;
  try {
    result = checkSync(source, flags, { timeout: CHECK_TIMEOUT_MS, randomSeed: 0 });
  } finally {
    if (backend === undefined) delete process.env.RECHECK_SYNC_BACKEND;
    else process.env.RECHECK_SYNC_BACKEND = backend;
  }
  if (result.status === 'safe') return {};
  if (result.status === 'unknown') {
    const why = result.error.kind === 'timeout' ? `not judged within ${CHECK_TIMEOUT_MS / 1000} s` : `${result.error.kind}${'message' in result.error ? `: ${result.error.message}` : ''}`;
    return { note: `the ReDoS check could not tell whether a line can make it backtrack for long (${why})` };
  }
  const attack = clip(result.attack.pattern);
  const parts = [...new Set(result.hotspot.filter((h) => h.temperature === 'heat').map((h) => source.slice(h.start, h.end)))];
  const where = parts.length > 0 ? `; the parts that backtrack: ${parts.map((p) => `"${clip(p, 60)}"`).join(', ')}` : '';
  if (result.complexity.type === 'exponential' && growsExponentially(source, flags, result.attack)) {
    return { refusal: `catastrophic backtracking: on the JS engine a line like ${attack} takes exponential time (each more character doubles it), so one log line could stall peruse for minutes${where}; rewrite it so that a text can match only one way (RE2 refused it, so it cannot run in linear time)` };
  }
  const growth = result.complexity.type === 'polynomial' ? `as length^${result.complexity.degree}` : 'faster than linearly';
  return { note: `its matching time can grow ${growth} on a line like ${attack}${where}` };
}

/**
 * recheck's verdict rests partly on its own timings, which a loaded machine can skew: a pattern is
 * refused only when the JS engine itself confirms it. With more repeats of the attack's pumped part,
 * matching time must multiply (×1.7 per repeat, ×3 per two) once it is measurable; polynomial growth
 * is far gentler at that size (×2 for two more at 12 repeats and degree 4).
 */
export function growsExponentially(source: string, flags: string, attack: { pumps: { prefix: string; pump: string }[]; suffix: string }): boolean {
  const regex = new RegExp(source, flags);
  const line = (repeats: number) => attack.pumps.map((p) => p.prefix + p.pump.repeat(repeats)).join('') + attack.suffix;
  const bestOf3 = (text: string) => {
    let best = Infinity;
    for (let run = 0; run < 3; run++) {
      const started = nowMs();
      regex.lastIndex = 0;
      regex.exec(text);
      best = Math.min(best, nowMs() - started);
    }
    return best;
  };
  // one repeat more at a time up to 10 (a pattern that multiplies its time by 100 per repeat must
  // not be run at 10 repeats straight away), then two
  let before = { repeats: 0, ms: bestOf3(line(0)) };
  for (let repeats = 1; repeats <= 60; repeats += repeats < 10 ? 1 : 2) {
    const ms = bestOf3(line(repeats));
    if (ms >= MEASURABLE_MS) return ms / before.ms >= 3 ** ((repeats - before.repeats) / 2);
    before = { repeats, ms };
  }
  return false;
}

/** Matching time long enough to compare (the last one before it is at most a third of it when exponential). */
const MEASURABLE_MS = 5;
