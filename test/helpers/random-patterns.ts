/** A small seeded generator (an LCG): the same patterns and texts on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

export interface PatternShape {
  atoms: readonly string[];
  quantifiers: readonly string[];
  /** Atoms never given a quantifier (anchors, boundaries, atoms already quantified). */
  unquantified: readonly string[];
  /** Below this roll an atom is a capturing group, below `alternationBelow` a non-capturing alternation (two levels deep at most). */
  groupBelow: number;
  alternationBelow: number;
  /** Whether groups get a quantifier too. */
  quantifyGroups: boolean;
}

/** A pattern of 1 to 4 atoms, each maybe a group of such patterns, drawn with `next`. */
export function randomPattern(next: () => number, shape: PatternShape, depth = 0): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  let out = '';
  const length = 1 + Math.floor(next() * 4);
  for (let i = 0; i < length; i++) {
    const roll = next();
    let atom: string;
    let group = true;
    if (depth < 2 && roll < shape.groupBelow) atom = `(${randomPattern(next, shape, depth + 1)})`;
    else if (depth < 2 && roll < shape.alternationBelow) atom = `(?:${randomPattern(next, shape, depth + 1)}|${randomPattern(next, shape, depth + 1)})`;
    else { atom = pick(shape.atoms); group = false; }
    const quantified = group ? shape.quantifyGroups : !shape.unquantified.includes(atom);
    out += atom + (quantified ? pick(shape.quantifiers) : '');
  }
  return out;
}
