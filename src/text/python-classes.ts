/**
 * Python's character classes (`\d \w \s` and their negations) and literals, spelled for each form
 * of a translated pattern (python-regex.ts): `ascii` and `unicode` are RE2 syntax, `js` is JS syntax
 * with the `u` flag.
 */

/** Python's `\s` on str (str.isspace()), from Python 3.11's tables. */
export const UNICODE_SPACES: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];
/** Python's `\s` under `(?a)`. */
const ASCII_SPACES: readonly number[] = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20];

export const WORD_U = '\\p{L}\\p{N}_';
const WORD_A = 'A-Za-z0-9_';

export type Target = 'ascii' | 'unicode' | 'js';

function hex(code: number): string {
  return code.toString(16).toUpperCase();
}

/** A code point as a class member or a literal, in the target's syntax. */
export function literal(code: number, target: Target, inClass: boolean): string {
  const char = String.fromCodePoint(code);
  if (code < 0x20 || code === 0x7f) return `\\x${hex(code).padStart(2, '0')}`;
  if (inClass ? '\\]^-['.includes(char) : '\\^$.|?*+()[]{}'.includes(char)) return `\\${char}`;
  if (code >= 0xd800 && code <= 0xdfff) return target === 'js' ? `\\u{${hex(code)}}` : `\\x{${hex(code)}}`;
  return char;
}

/** Ranges between the given sorted code points: the complement of a small set, as class members. */
function complementRanges(codes: readonly number[], max: number, target: Target): string {
  let out = '';
  let from = 0;
  for (const code of codes) {
    if (code > from) out += range(from, code - 1, target);
    from = code + 1;
  }
  if (from <= max) out += range(from, max, target);
  return out;
}

function range(from: number, to: number, target: Target): string {
  const end = (code: number) => (code > 0x7e ? (target === 'js' ? `\\u{${hex(code)}}` : `\\x{${hex(code)}}`) : literal(code, target, true));
  return from === to ? end(from) : `${end(from)}-${end(to)}`;
}

export function members(codes: readonly number[], target: Target): string {
  return codes.map((c) => literal(c, target, true)).join('');
}

export interface PatternFlags { i: boolean; m: boolean; s: boolean; x: boolean; a: boolean }

/**
 * A class escape (`d D w W s S`) as members of a class, for one target; undefined when that target
 * cannot put it beside other members (RE2 and the Unicode `\W`).
 */
export function classEscapeMembers(escape: string, target: Target, flags: PatternFlags): string | undefined {
  const ascii = target === 'ascii' || flags.a;
  switch (escape) {
    case 'd': return ascii ? '0-9' : '\\p{Nd}';
    case 'D': return ascii ? (target === 'js' ? '\\0-\\/:-\\u{10FFFF}' : '\\D') : '\\P{Nd}';
    case 'w': return ascii ? WORD_A : WORD_U;
    case 'W':
      if (ascii) return target === 'js' ? '\\0-\\/:-@\\[-\\^`\\{-\\u{10FFFF}' : '\\W';
      return undefined;
    case 's': return members(flags.a ? ASCII_SPACES : target === 'ascii' ? UNICODE_SPACES.filter((c) => c < 0x80) : UNICODE_SPACES, target);
    default: {
      // S: every code point but the spaces (on ASCII-only text, ASCII is enough and stays on irregexp)
      const spaces = flags.a ? ASCII_SPACES : UNICODE_SPACES;
      return target === 'ascii' && !flags.a ? complementRanges(spaces.filter((c) => c < 0x80), 0x7f, target) : complementRanges(spaces, 0x10ffff, target);
    }
  }
}

