/** An address as 32-bit words: one for IPv4, four for IPv6 (most significant first). */
export interface ParsedIp {
  family: 4 | 6;
  words: Uint32Array;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  text: string;
}

export interface ParsedNetwork {
  family: 4 | 6;
  words: Uint32Array;
  masks: Uint32Array;
  prefix: number;
  text: string;
}

function v4Text(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

/**
 * The four words of an IPv6 address in one pass, without allocating on the way: what
 * `net.isIPv6` accepts (1–4 hex digits per group, one `::`, a dotted-quad tail), any case, no
 * zone; undefined for anything else. Hot path of every ban and network filter under an IPv6 attack.
 */
function parseV6Words(text: string): Uint32Array | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const groups = V6_GROUPS;
  let count = 0, gap = -1, i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let j = i, value = 0;
    for (; j < n && j - i < 5; j++) {
      const digit = hexDigit(text.charCodeAt(j));
      if (digit < 0) break;
      value = value * 16 + digit;
    }
    if (j < n && text.charCodeAt(j) === 46) {
      // a dotted-quad tail takes the last two groups
      if (count > 6) return undefined;
      const v4 = strictV4Word(text.slice(i));
      if (v4 === undefined) return undefined;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (j === i || j - i > 4 || count === 8) return undefined;
    groups[count++] = value;
    i = j;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = count;
      i++;
    } else if (i === n) return undefined; // a single trailing ':'
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  const words = new Uint32Array(4);
  const zeros = 8 - count;
  for (let g = 0, k = 0; g < 8; g++) {
    const inGap = gap >= 0 && g >= gap && g < gap + zeros;
    const group = inGap ? 0 : groups[k++]!;
    words[g >> 1] = (g & 1) === 0 ? group << 16 : (words[g >> 1]! | group) >>> 0;
  }
  return words;
}

const V6_GROUPS = new Uint16Array(8);

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function v6Text(words: Uint32Array): string {
  const group = (g: number) => (g & 1) === 0 ? words[g >> 1]! >>> 16 : words[g >> 1]! & 0xffff;
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on ties
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (group(i) !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) { text += '::'; g += bestLength - 1; continue; }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += group(g).toString(16);
  }
  return text;
}

/**
 * Parses an address exactly (no surrounding text, no zone id). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is returned as the IPv4 address. Returns undefined for anything else.
 */
export function parseIp(text: unknown): ParsedIp | undefined {
  if (typeof text !== 'string' || text.length > 45) return undefined;
  const v4 = strictV4Word(text);
  if (v4 !== undefined) return { family: 4, words: Uint32Array.of(v4), text };
  const words = parseV6Words(text);
  if (!words) return undefined;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
    return { family: 4, words: Uint32Array.of(words[3]!), text: v4Text(words[3]!) };
  }
  return { family: 6, words, text: v6Text(words) };
}

/**
 * The address of a dotted quad written canonically (what `net.isIPv4` accepts: four decimal parts
 * 0-255, no leading zeros), without allocating; undefined for anything else. Hot path of every
 * address-reading filter and ban.
 */
function strictV4Word(text: string): number | undefined {
  const length = text.length;
  if (length < 7 || length > 15) return undefined;
  let word = 0, part = 0, digits = 0, parts = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      word = word * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else return undefined;
  }
  return parts === 4 ? word >>> 0 : undefined;
}

let lastText: unknown;
let lastParsed: ParsedIp | undefined;
/** parseIp with a one-slot memo: consecutive filters on the same field parse it once per entry. */
export function cachedParseIp(text: unknown): ParsedIp | undefined {
  if (text !== lastText) { lastText = text; lastParsed = parseIp(text); }
  return lastParsed;
}

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a /32 or /128). */
export function parseNetwork(text: string): ParsedNetwork | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  // our own parsers, not net.isIPv6: its one big regex costs 18 ms to compile at start-up
  const v4 = strictV4Word(addressText);
  const v6 = v4 === undefined && !addressText.includes('%') ? parseV6Words(addressText) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  const family = v4 !== undefined ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  const words = v4 !== undefined ? Uint32Array.of(v4) : v6!;
  const masks = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const remaining = Math.max(0, Math.min(32, prefix - 32 * i));
    masks[i] = remaining === 0 ? 0 : (0xffffffff << (32 - remaining)) >>> 0;
    words[i] = (words[i]! & masks[i]!) >>> 0;
  }
  const base = family === 4 ? v4Text(words[0]!) : v6Text(words);
  return { family, words, masks, prefix, text: `${base}/${prefix}` };
}

export function networkContains(net: ParsedNetwork, ip: ParsedIp): boolean {
  if (net.family !== ip.family) return false;
  for (let i = 0; i < net.words.length; i++) {
    if (((ip.words[i]! & net.masks[i]!) >>> 0) !== net.words[i]) return false;
  }
  return true;
}
