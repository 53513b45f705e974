import { isIPv4, isIPv6 } from 'node:net';

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

function parseV4Words(text: string): number {
  const parts = text.split('.');
  return ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0;
}

function v4Text(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

function parseV6Words(text: string): Uint32Array | undefined {
  let head = text;
  const groups: number[] = [];
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const lastColon = head.lastIndexOf(':');
  const tail = head.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4Words(tail);
    head = head.slice(0, lastColon + 1) + (v4 >>> 16).toString(16) + ':' + (v4 & 0xffff).toString(16);
  }
  const [left = '', right, extra] = head.split('::');
  if (extra !== undefined) return undefined;
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  if (right === undefined ? missing !== 0 : missing < 1) return undefined;
  for (const g of leftGroups) groups.push(parseInt(g, 16));
  for (let i = 0; i < (right === undefined ? 0 : missing); i++) groups.push(0);
  for (const g of rightGroups) groups.push(parseInt(g, 16));
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

function v6Text(words: Uint32Array): string {
  const groups: number[] = [];
  for (const w of words) groups.push(w >>> 16, w & 0xffff);
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on ties
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Parses an address exactly (no surrounding text, no zone id). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is returned as the IPv4 address. Returns undefined for anything else.
 */
export function parseIp(text: unknown): ParsedIp | undefined {
  if (typeof text !== 'string' || text.length > 45) return undefined;
  const v4 = strictV4Word(text);
  if (v4 !== undefined) return { family: 4, words: Uint32Array.of(v4), text };
  if (!text.includes(':')) return undefined;
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const words = parseV6Words(text.toLowerCase());
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
  const isV4 = isIPv4(addressText);
  if (!isV4 && !isIPv6(addressText)) return undefined;
  const family = isV4 ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  const words = family === 4 ? Uint32Array.of(parseV4Words(addressText)) : parseV6Words(addressText.toLowerCase());
  if (!words) return undefined;
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
