// Where a path of a JSON text is written, found by scanning the text without building a tree:
// `check` needs a position only for the few nodes an issue is about, and a syntax tree of a
// 40 KB config cost more than the rest of reading it. The text is valid JSON (JSON.parse took it).
import type { PathSegment } from './errors.js';

interface Member {
  key: string;
  /** Offset of the key (for an element: of the element). */
  at: number;
  value: number;
}

class Scanner {
  /** The members of each object or array listed so far, by its offset: a config with hundreds of
   * issues under one 8 000-chain `actions` object lists that object once, not once per issue. */
  private readonly listed = new Map<number, Member[]>();

  constructor(readonly text: string) {}

  ws(i: number): number {
    const t = this.text;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      i++;
    }
    return i;
  }

  // indexOf and a native regex skip over a 40 KB chain list far faster than a loop over its characters
  stringEnd(i: number): number {
    const t = this.text;
    for (let from = i + 1; ;) {
      const quote = t.indexOf('"', from);
      if (quote < 0) return t.length;
      let backslashes = 0;
      while (t.charCodeAt(quote - 1 - backslashes) === 92) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }

  valueEnd(i: number): number {
    const t = this.text;
    const c = t[i];
    if (c === '"') return this.stringEnd(i);
    if (c === '{' || c === '[') {
      const structure = /["{}[\]]/g;
      structure.lastIndex = i;
      let depth = 0;
      for (let m = structure.exec(t); m; m = structure.exec(t)) {
        const ch = m[0];
        if (ch === '"') { structure.lastIndex = this.stringEnd(m.index); continue; }
        if (ch === '{' || ch === '[') depth++;
        else if (--depth === 0) return m.index + 1;
      }
      return t.length;
    }
    const end = /[,}\]\s]/g;
    end.lastIndex = i;
    return end.exec(t)?.index ?? t.length;
  }

  /** The members of the object or array starting at `i` (array elements keyed by their index). */
  members(i: number): Member[] {
    let out = this.listed.get(i);
    if (out === undefined) {
      out = this.list(i);
      this.listed.set(i, out);
    }
    return out;
  }

  private list(i: number): Member[] {
    const t = this.text;
    const out: Member[] = [];
    const open = t[i];
    if (open !== '{' && open !== '[') return out;
    i = this.ws(i + 1);
    for (let index = 0; i < t.length && t[i] !== '}' && t[i] !== ']'; index++) {
      if (open === '{') {
        const keyEnd = this.stringEnd(i);
        const value = this.ws(this.ws(keyEnd) + 1);
        out.push({ key: JSON.parse(t.slice(i, keyEnd)) as string, at: i, value });
        i = value;
      } else {
        out.push({ key: String(index), at: i, value: i });
      }
      i = this.ws(this.valueEnd(i));
      if (t[i] === ',') i = this.ws(i + 1);
    }
    return out;
  }

  /** The deepest node along `path`: its offsets and how deep it is. */
  find(path: readonly PathSegment[]): { at: number; value: number; depth: number } {
    let node = { at: this.ws(0), value: this.ws(0), depth: 0 };
    for (const segment of path) {
      const isArray = this.text[node.value] === '[';
      if (isArray !== (typeof segment === 'number')) break;
      // a repeated key: the last one is the value JSON.parse keeps
      const match = this.members(node.value).filter((m) => m.key === String(segment)).pop();
      if (!match) break;
      node = { at: match.at, value: match.value, depth: node.depth + 1 };
    }
    return node;
  }
}

/** The scanner of the last text asked about: the issues of one config are located one after another. */
let last: Scanner | undefined;
function scannerOf(text: string): Scanner {
  if (last?.text !== text) last = new Scanner(text);
  return last;
}

/** Offset of the deepest node along `path` that exists: a property at its key, an element at its start. */
export function locateJsonPath(text: string, path: readonly PathSegment[]): number {
  return scannerOf(text).find(path).at;
}

/** The keys of the object at `path`, in file order (JSON.parse puts integer-like keys first). */
export function keysInFileOrder(text: string, path: readonly PathSegment[]): string[] {
  const scanner = scannerOf(text);
  const node = scanner.find(path);
  return node.depth === path.length ? scanner.members(node.value).map((m) => m.key) : [];
}
