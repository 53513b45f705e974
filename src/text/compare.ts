/**
 * Ordering between an entry value and a configured constant. Numbers compare with numbers and
 * strings with strings; any other pairing is "not comparable" (a type mismatch is a non-match,
 * never a coercion: "10" <= 9 must not quietly become 10 <= 9).
 */
export function compareSameType(a: unknown, b: number | string): number | undefined {
  if (typeof b === 'number') return typeof a === 'number' ? a - b : undefined;
  if (typeof a !== 'string') return undefined;
  return compareCodePoints(a, b);
}

/**
 * Orders two strings by code point, as Python does, where JS's `<` orders UTF-16 units: an emoji
 * (U+1F600, a surrogate pair) comes after U+FFFD in Python, before it in JS. Only the first unit
 * that differs matters; surrogates are moved above U+E000–U+FFFF so that unit order is code point order.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const shorter = Math.min(a.length, b.length);
  let i = 0;
  while (i < shorter && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === shorter) return a.length - b.length;
  return codePointRank(a.charCodeAt(i)) - codePointRank(b.charCodeAt(i));
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/**
 * A value as Python's `==` sees it: a missing field is None like a null one (`entry.get(field)`),
 * and True/False equal 1/0. Used where Pyruse compares with `==` or `in`.
 */
export function pythonEqualityKey(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
