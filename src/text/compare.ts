/**
 * Ordering between an entry value and a configured constant. Numbers compare with numbers and
 * strings with strings; any other pairing is "not comparable" (a type mismatch is a non-match,
 * never a coercion: "10" <= 9 must not quietly become 10 <= 9).
 */
export function compareSameType(a: unknown, b: number | string): number | undefined {
  if (typeof b === 'number') return typeof a === 'number' ? a - b : undefined;
  if (typeof a !== 'string') return undefined;
  return a < b ? -1 : a > b ? 1 : 0;
}
