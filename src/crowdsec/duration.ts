const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ns: 1e-9 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)/y;

/** Seconds of a Go duration as LAPI writes them ("3h59m58.12s", "-1.5s", "0s"); undefined when it is not one. */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  let i = 0, sign = 1;
  if (text[0] === '-' || text[0] === '+') { sign = text[0] === '-' ? -1 : 1; i = 1; }
  if (text.slice(i) === '0') return 0;
  let total = 0, parts = 0;
  while (i < text.length) {
    PART.lastIndex = i;
    const match = PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_SECONDS[match[2]!]!;
    i = PART.lastIndex;
    parts++;
  }
  return parts > 0 ? sign * total : undefined;
}
