/**
 * Literal text every match of a pattern must contain, found by reading the pattern's top-level
 * sequence only (groups, classes, alternatives and optional characters are skipped). Checking
 * these with `includes`/`startsWith` is far cheaper than entering the regex engine (RE2 copies
 * the subject to UTF-8 on every call), and most log lines fail it. Nothing is returned when the
 * pattern has a top-level alternative or is case-insensitive: then there is no safe prefilter.
 */
export interface RequiredLiterals {
  /** Text the subject must start with (pattern anchored with `^`). */
  prefix: string;
  /** Texts the subject must contain somewhere (any order). */
  contains: string[];
}

const QUANTIFIER = /^\{\d+(?:,\d*)?\}/;

export function requiredLiterals(source: string, flags: string): RequiredLiterals | undefined {
  if (flags.includes('i') || flags.includes('m')) return undefined;
  // an inline flag group such as (?i) changes what follows it
  if (/\(\?[A-Za-z-]+[:)]/.test(source)) return undefined;
  const runs: { text: string; anchored: boolean }[] = [];
  let run = '';
  let runAnchored = false;
  let lastIsLiteral = false;
  let depth = 0;
  let anchoredAtStart = false;
  let sawNonLiteral = false;
  const endRun = () => {
    if (run.length > 0) runs.push({ text: run, anchored: runAnchored });
    run = '';
    runAnchored = false;
    lastIsLiteral = false;
  };
  const literal = (c: string) => {
    if (depth > 0) return;
    if (run === '' && runs.length === 0 && anchoredAtStart && !sawNonLiteral) runAnchored = true;
    run += c;
    lastIsLiteral = true;
  };
  const breakRun = () => {
    if (depth === 0) sawNonLiteral = true;
    endRun();
  };

  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) return undefined;
      i++;
      if (/[A-Za-z0-9]/.test(next)) {
        // escapes with arguments (backrefs, properties, quoting, octal, code points): give up
        if ('kpPQN0123456789u'.includes(next)) return undefined;
        if (next === 'x') {
          // \xHH or \x{H…}: its digits are not literal text
          if (source[i + 1] === '{') {
            i = source.indexOf('}', i);
            if (i < 0) return undefined;
          } else i += 2;
        }
        breakRun();
      } else literal(next);
      continue;
    }
    if (c === '[') {
      // a class: skip it; `]` right after `[` or `[^` is a literal member (RE2/Python)
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      for (; j < source.length && source[j] !== ']'; j++) if (source[j] === '\\') j++;
      if (j >= source.length) return undefined;
      i = j;
      breakRun();
      continue;
    }
    if (c === '(') { breakRun(); depth++; continue; }
    if (c === ')') { depth--; breakRun(); if (depth < 0) return undefined; continue; }
    if (c === '|') { if (depth === 0) return undefined; continue; }
    if (depth > 0) continue;
    if (c === '^') { if (i === 0) anchoredAtStart = true; else breakRun(); continue; }
    if (c === '*' || c === '?' || (c === '{' && QUANTIFIER.test(source.slice(i)))) {
      // the character before is optional: it is not required text
      if (lastIsLiteral) run = run.slice(0, /[\uDC00-\uDFFF]$/.test(run) ? -2 : -1);
      if (c === '{') i = source.indexOf('}', i);
      sawNonLiteral = true;
      endRun();
      continue;
    }
    if (c === '+') { sawNonLiteral = true; endRun(); continue; }
    if (c === '.' || c === '$') { breakRun(); continue; }
    literal(c);
  }
  if (depth !== 0) return undefined;
  endRun();
  const prefix = runs[0]?.anchored ? runs[0].text : '';
  const contains = [...new Set(runs.filter((r) => !r.anchored && r.text.length >= 2).map((r) => r.text))];
  if (prefix === '' && contains.length === 0) return undefined;
  return { prefix, contains };
}
