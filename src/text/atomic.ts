// Python 3.11 `re` has atomic groups `(?>…)` and possessive quantifiers `a++ a*+ a?+ a{m,n}+`;
// neither RE2 nor JavaScript does. `(?>X)` matches exactly what `(?=(X))\1` matches on a
// backtracking engine: the lookahead takes X's first match and never gives part of it back.

const SYNTHETIC = '__atomic';
const BACKREF = /\0(\d+)\0/g;

export interface AtomicRewrite {
  source: string;
  /** Names of the groups added by the rewrite (left out of what a match reports). */
  readonly synthetic: readonly string[];
}

/** Rewrites atomic groups and possessive quantifiers of a JS-syntax pattern; undefined when it has none. */
export function rewriteAtomic(source: string): AtomicRewrite | undefined {
  if (!source.includes('(?>') && !/[*+?}]\+/.test(source)) return undefined;
  let out = '';
  const frames: { start: number; atomic: boolean }[] = [];
  const synthetic: string[] = [];
  let atomStart = -1;
  let rewritten = false;
  const wrap = (start: number) => {
    const name = `${SYNTHETIC}${synthetic.length}`;
    synthetic.push(name);
    out = `${out.slice(0, start)}(?=(?<${name}>${out.slice(start)}))\\k<${name}>`;
    rewritten = true;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const digits = /^[1-9]\d?/.exec(source.slice(i + 1));
      atomStart = out.length;
      // a numbered back-reference: renumbered once every group is known
      if (digits) { out += `\0${digits[0]}\0`; i += digits[0].length; } else { out += source.slice(i, i + 2); i++; }
    } else if (c === '[') {
      atomStart = out.length;
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j;
    } else if (c === '(') {
      if (source.startsWith('(?>', i)) {
        frames.push({ start: out.length, atomic: true });
        i += 2;
      } else {
        frames.push({ start: out.length, atomic: false });
        out += c;
      }
    } else if (c === ')') {
      const frame = frames.pop();
      if (frame?.atomic) wrap(frame.start);
      else out += c;
      atomStart = frame?.start ?? -1;
    } else if ('*+?'.includes(c) || (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
      const quantifier = c === '{' ? /^\{\d+(,\d*)?\}/.exec(source.slice(i))![0] : c;
      out += quantifier;
      i += quantifier.length - 1;
      if (source[i + 1] === '?') { out += '?'; i++; } else if (source[i + 1] === '+' && atomStart >= 0) { wrap(atomStart); i++; }
      atomStart = -1;
    } else {
      atomStart = c === '|' || c === '^' || c === '$' ? -1 : out.length;
      out += c;
    }
  }
  if (!rewritten) return undefined;
  return { source: renumberBackrefs(out), synthetic };
}

/** `\N` counts Python's groups; in the rewritten pattern the added groups are counted too. */
function renumberBackrefs(pattern: string): string {
  const jsIndexOfPython: number[] = [0];
  let js = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c !== '(') continue;
    const named = /^\(\?<([A-Za-z_]\w*)>/.exec(pattern.slice(i));
    if (pattern[i + 1] !== '?' || named) {
      js++;
      if (!named?.[1]!.startsWith(SYNTHETIC)) jsIndexOfPython.push(js);
    }
  }
  return pattern.replace(BACKREF, (_all, n: string) => `(?:\\${jsIndexOfPython[Number(n)] ?? n})`);
}

/** A match of the rewritten pattern as the original pattern reports it: the added groups removed. */
export function withoutSynthetic(match: RegExpExecArray | null, syntheticIndexes: readonly number[], names: readonly string[]): RegExpExecArray | null {
  if (match === null) return null;
  const kept = match.filter((_value, index) => !syntheticIndexes.includes(index)) as unknown as RegExpExecArray;
  kept.index = match.index;
  kept.input = match.input;
  if (match.groups) {
    const groups: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(match.groups)) if (!names.includes(name)) groups[name] = value;
    kept.groups = Object.keys(groups).length > 0 ? groups as Record<string, string> : undefined;
  }
  return kept;
}

/** JS indexes of the synthetic groups (by name) in a compiled pattern, from a probe match. */
export function syntheticIndexes(source: string, names: readonly string[]): number[] {
  const indexes: number[] = [];
  let js = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (c !== '(') continue;
    const named = /^\(\?<([A-Za-z_]\w*)>/.exec(source.slice(i));
    if (source[i + 1] !== '?' || named) {
      js++;
      if (named && names.includes(named[1]!)) indexes.push(js);
    }
  }
  return indexes;
}
