// fail2ban's regex tags (`<HOST>`, `<F-USER>…</F-USER>` …) turned into peruse regexes (Python
// syntax, as filter_pcre takes them), written from fail2ban's documentation of the tags. Python's
// conditional groups `(?(name)yes|no)`, which neither RE2 nor JavaScript has, are expanded into
// one regex per outcome.

const IP4 = '(?:[0-9]{1,3}\\.){3}[0-9]{1,3}';
// at least two colons, hex groups, an optional dotted tail (::ffff:1.2.3.4)
const IP6 = '(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?';
const DNS = '[\\w\\-.^_]*\\w';
const MAPPED = '(?:::[fF]{4,6}:)?';

/** Field names given to fail2ban's capture tags (`<F-USER>` → `user`). */
export const HOST_FIELD = 'host';

export interface TranslatedRegex {
  /** One regex, or several when conditionals were expanded (tried in order). */
  sources: string[];
  /** Has a host: `<HOST>`, `<ADDR>`, `<IP4>`, `<IP6>`, `<DNS>`, `<SUBNET>`. */
  hasHost: boolean;
  /** `<F-NOFAIL>`: the line is no failure by itself (it may give its host to the session). */
  noFail: boolean;
  /** `<F-MLFFORGET>`: the session ends with this line. */
  forget: boolean;
  /** `<F-MLFGAINED>`: the session logged in (a success). */
  gained: boolean;
  /** Tags no one defines, kept as literal text as fail2ban does. */
  unknownTags: string[];
}

const HOST_TAGS: Record<string, string> = {
  HOST: `${MAPPED}\\[?(?P<${HOST_FIELD}>${IP4}|${IP6}|${DNS})\\]?`,
  ADDR: `${MAPPED}\\[?(?P<${HOST_FIELD}>${IP4}|${IP6})\\]?`,
  IP4: `${MAPPED}(?P<${HOST_FIELD}>${IP4})`,
  IP6: `\\[?(?P<${HOST_FIELD}>${IP6})\\]?`,
  DNS: `(?P<${HOST_FIELD}>${DNS})`,
  SUBNET: `${MAPPED}\\[?(?P<${HOST_FIELD}>${IP4}|${IP6})\\]?(?:/(?P<cidr>[0-9]{1,3}))?`,
  CIDR: '(?P<cidr>[0-9]{1,3})',
};

export function translateFailregex(regex: string): TranslatedRegex {
  let hasHost = false;
  const unknownTags: string[] = [];
  const noFail = regex.includes('<F-NOFAIL>');
  const forget = regex.includes('<F-MLFFORGET>');
  const gained = regex.includes('<F-MLFGAINED>');
  let source = regex.replace(/<(\/?)F-([A-Za-z0-9_]+)>/g, (_, close: string, name: string) =>
    close ? ')' : `(?P<${name.toLowerCase()}>`);
  source = source.replace(/<([A-Z][A-Z0-9_]*)>/g, (whole, tag: string) => {
    const replacement = HOST_TAGS[tag];
    // fail2ban leaves a tag it does not know as it is: literal text of the log (haproxy's `<NOSRV>`)
    if (replacement === undefined) { unknownTags.push(whole); return whole; }
    if (tag !== 'CIDR') hasHost = true;
    return replacement;
  });
  // host tags in alternatives (`IPv6:<IP6>|<IP4>`) would name the group twice: one version per tag
  // that captures it with the others impossible, then one where the first captures and the rest only match
  const hostGroup = `(?P<${HOST_FIELD}>`;
  const count = source.split(hostGroup).length - 1;
  const versions: string[] = [];
  if (count > 1) {
    for (let keep = 0; keep < count; keep++) {
      let text = source;
      for (let j = count - 1; j >= 0; j--) {
        if (j === keep) continue;
        text = replaceNthGroup(text, hostGroup, j, NEVER);
      }
      versions.push(text);
    }
  }
  let seen = 0;
  versions.push(source.split(hostGroup).map((part, i) => (i === 0 ? part : (seen++ === 0 ? hostGroup : '(?:') + part)).join(''));
  return { sources: versions.flatMap((v) => expandConditionals(dedupeGroups(v))), hasHost, noFail, forget, gained, unknownTags };
}

/** A group name given twice (nested F- tags in alternatives) keeps its first capture only. */
function dedupeGroups(source: string): string {
  const seen = new Set<string>();
  return source.replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, (m, name: string) => {
    if (seen.has(name)) return '(?:';
    seen.add(name);
    return m;
  });
}

const NEVER = '[^\\s\\S]';

/**
 * `(?(name)yes|no)` → one regex per truth value of each named group used in a condition: where the
 * group took part the `yes` branch, else the `no` branch with the group made impossible (so the
 * regex cannot pretend it matched). The versions where groups took part come first, as the regex
 * engine would prefer them.
 */
export function expandConditionals(source: string): string[] {
  const conditions = [...new Set([...source.matchAll(/\(\?\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!))];
  if (conditions.length === 0) return [source];
  if (conditions.length > 4) throw new Error(`${conditions.length} conditional groups: too many to expand`);
  const out: string[] = [];
  for (let mask = 0; mask < 2 ** conditions.length; mask++) {
    let text = source;
    conditions.forEach((name, i) => {
      const present = (mask & (1 << i)) === 0;
      text = replaceConditional(text, name, present);
      if (!present) text = makeGroupImpossible(text, name);
    });
    out.push(text);
  }
  return out;
}

/** Index of the `)` that closes the group opened at `open`. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') { depth--; if (depth === 0) return i; }
  }
  throw new Error('unbalanced parentheses');
}

/** Splits a group body at its top-level `|`. */
function topLevelAlternatives(body: string): string[] {
  const parts: string[] = [];
  let depth = 0, inClass = false, start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) { parts.push(body.slice(start, i)); start = i + 1; }
  }
  parts.push(body.slice(start));
  return parts;
}

function replaceConditional(text: string, name: string, present: boolean): string {
  const marker = `(?(${name})`;
  let out = text;
  for (let at = out.indexOf(marker); at >= 0; at = out.indexOf(marker)) {
    const end = closingParen(out, at);
    const [yes = '', no = ''] = topLevelAlternatives(out.slice(at + marker.length, end));
    out = `${out.slice(0, at)}(?:${present ? yes : no})${out.slice(end + 1)}`;
  }
  return out;
}

/** Replaces the n-th group opened by `opener` (with its body) by `replacement`. */
function replaceNthGroup(text: string, opener: string, n: number, replacement: string): string {
  let at = -1;
  for (let i = 0; i <= n; i++) at = text.indexOf(opener, at + 1);
  if (at < 0) return text;
  const end = closingParen(text, at);
  return `${text.slice(0, at)}(?:${replacement})${text.slice(end + 1)}`;
}

function makeGroupImpossible(text: string, name: string): string {
  const open = text.indexOf(`(?P<${name}>`);
  if (open < 0) return text;
  const end = closingParen(text, open);
  return `${text.slice(0, open)}(?:${NEVER})${text.slice(end + 1)}`;
}
