// fail2ban's configuration files, read as fail2ban reads them (Python's ConfigParser plus its own
// [INCLUDES] before/after and `known/` references): sections, `key = value`, multi-line values
// (continuation lines are indented), full-line comments (# or ;), and files layered in order, a
// later file overriding single keys of an earlier one. No INI library on npm keeps indented
// continuation lines and per-key layering together, so this is a small reader of our own.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where a value was set, for reports. */
export interface Origin { file: string; line: number }

export class IniSet {
  readonly sections = new Map<string, Map<string, string>>();
  readonly origins = new Map<string, Origin>();
  readonly files: string[] = [];

  /** Reads one file with its [INCLUDES] before/after (relative to its directory); missing files are skipped. */
  readFile(file: string, seen = new Set<string>()): void {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const parsed = parseIni(text, file);
    const includes = parsed.get('INCLUDES');
    const dir = path.dirname(file);
    const list = (key: string) => (includes?.get(key)?.value ?? '').split(/\s+/).filter(Boolean).map((f) => path.resolve(dir, f));
    for (const before of list('before')) this.readFile(before, seen);
    this.files.push(file);
    for (const [name, entries] of parsed) {
      if (name === 'INCLUDES') continue;
      let section = this.sections.get(name);
      if (!section) { section = new Map(); this.sections.set(name, section); }
      for (const [key, { value, line }] of entries) {
        const previous = section.get(key);
        // `%(known/KEY)s` in a later file means the value this one replaces
        if (previous !== undefined) section.set(`known/${key}`, previous);
        section.set(key, value);
        this.origins.set(`${name}\0${key}`, { file, line });
      }
    }
    for (const after of list('after')) this.readFile(after, seen);
  }

  section(name: string): Map<string, string> | undefined {
    return this.sections.get(name);
  }
}

/** Parses one INI text: section → key → value and its line. Keys keep their case. */
export function parseIni(text: string, file = '<text>'): Map<string, Map<string, { value: string; line: number }>> {
  const out = new Map<string, Map<string, { value: string; line: number }>>();
  let section: Map<string, { value: string; line: number }> | undefined;
  let current: { key: string; lines: string[]; line: number } | undefined;
  const flush = () => {
    if (current && section) section.set(current.key, { value: current.lines.join('\n').trim(), line: current.line });
    current = undefined;
  };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const stripped = raw.trim();
    if (stripped === '' || stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (/^\s/.test(raw) && current) { current.lines.push(stripped); continue; }
    flush();
    const header = /^\[([^\]]+)\]\s*$/.exec(stripped);
    if (header) {
      const name = header[1]!.trim();
      section = out.get(name) ?? new Map();
      out.set(name, section);
      continue;
    }
    const pair = /^([^=:\s][^=:]*?)\s*[=:]\s?(.*)$/.exec(raw);
    if (!pair || !section) throw new Error(`${file}:${i + 1}: not "key = value" inside a [section]: ${raw.slice(0, 80)}`);
    current = { key: pair[1]!.trim(), lines: [pair[2]!], line: i + 1 };
  }
  flush();
  return out;
}

/**
 * Expands `%(name)s` (same section, then [DEFAULT], then `extra`), `%(section/name)s`, and `%%`.
 * Unknown names are left as they are and listed in `missing`.
 */
export function interpolate(value: string, lookup: (name: string) => string | undefined, missing?: Set<string>, depth = 0): string {
  if (depth > 30) throw new Error(`interpolation too deep in "${value.slice(0, 60)}" (a loop?)`);
  return value.replace(/%%|%\(([^)]+)\)s/g, (whole, name: string | undefined) => {
    if (name === undefined) return '%';
    const found = lookup(name);
    if (found === undefined) { missing?.add(name); return whole; }
    return interpolate(found, lookup, missing, depth + 1);
  });
}

/**
 * fail2ban's own tags: `<name>` replaced by a known option, innermost first, so `<mdre-<mode>>`
 * first becomes `<mdre-normal>`. Tags nobody defines (`<HOST>`, `<F-USER>` …) stay.
 */
export function substituteTags(value: string, lookup: (name: string) => string | undefined): string {
  let text = value;
  for (let round = 0; round < 50; round++) {
    let changed = false;
    text = text.replace(/<([^<>\s]+)>/g, (whole, name: string) => {
      const found = lookup(name);
      if (found === undefined) return whole;
      changed = true;
      return found;
    });
    if (!changed) return text;
  }
  throw new Error(`tag substitution does not end in "${value.slice(0, 60)}" (a loop?)`);
}
