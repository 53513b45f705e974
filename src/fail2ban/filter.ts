// A fail2ban filter (filter.d/NAME.conf + NAME.local, their [INCLUDES]) resolved as fail2ban does:
// [Init] and the jail's `filter = NAME[key=value]` parameters override [Definition] and [DEFAULT],
// `%(name)s` is expanded, then fail2ban's `<name>` tags (`<mdre-<mode>>`, `<lt_file/__prefix_line>`).
import path from 'node:path';
import { IniSet, interpolate, substituteTags } from './ini.js';

export interface FilterDefinition {
  name: string;
  files: string[];
  prefregex?: string;
  failregex: string[];
  ignoreregex: string[];
  /** journalmatch alternatives (`+` separates them), each a list of FIELD=value. */
  journalmatch: string[][];
  maxlines: number;
  /** `mode` in effect (jail parameter, [Init], else [Definition]). */
  mode?: string;
  /** The parameters in effect, [Init] and the jail's (mode …). */
  params: Record<string, string>;
}

/** `sshd[mode=aggressive, publickey="any"]` → name and parameters. */
export function parseFilterReference(text: string): { name: string; params: Record<string, string> } {
  const m = /^\s*([^[\s]+)\s*(?:\[(.*)\])?\s*$/s.exec(text);
  if (!m) throw new Error(`filter "${text}": not NAME or NAME[key=value, …]`);
  const params: Record<string, string> = {};
  const body = m[2] ?? '';
  const pair = /\s*([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^,]*))\s*(?:,|$)/gy;
  let found: RegExpExecArray | null;
  while (pair.lastIndex < body.length && (found = pair.exec(body)) !== null) {
    params[found[1]!] = (found[2] ?? found[3] ?? found[4] ?? '').trim();
    if (found[0] === '') break;
  }
  return { name: m[1]!, params };
}

export function loadFilter(dir: string, name: string, jailParams: Record<string, string>): FilterDefinition {
  const ini = new IniSet();
  const base = path.join(dir, 'filter.d', name);
  ini.readFile(`${base}.conf`);
  ini.readFile(`${base}.local`);
  if (ini.files.length === 0) throw new Error(`no filter.d/${name}.conf or .local`);
  const definition = ini.section('Definition') ?? new Map<string, string>();
  const init = ini.section('Init') ?? new Map<string, string>();
  const defaults = ini.section('DEFAULT') ?? new Map<string, string>();
  const params: Record<string, string> = { ...Object.fromEntries(init), ...jailParams };

  const raw = (key: string, own?: Map<string, string>): string | undefined => {
    if (key.includes('/')) {
      const [section, option] = key.split('/', 2) as [string, string];
      const s = ini.section(section);
      // the value this layer replaces: an earlier file's, else the same name in [DEFAULT]
      if (section === 'known') return own?.get(key) ?? definition.get(key) ?? defaults.get(key) ?? defaults.get(option);
      if (section.toLowerCase() === 'default') return defaults.get(option);
      return s?.get(option) ?? defaults.get(option);
    }
    return params[key] ?? own?.get(key) ?? definition.get(key) ?? init.get(key) ?? defaults.get(key);
  };
  const expanded = (key: string, own?: Map<string, string>): string | undefined => {
    const value = raw(key, own);
    if (value === undefined) return undefined;
    return interpolate(value, (n) => raw(n, own));
  };
  const tag = (name: string): string | undefined => {
    const value = expanded(name);
    return value === undefined ? undefined : value;
  };
  const option = (key: string): string | undefined => {
    const value = expanded(key);
    return value === undefined ? undefined : substituteTags(value, tag);
  };
  const lines = (key: string) => (option(key) ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const prefregex = option('prefregex');
  const journal = option('journalmatch') ?? '';
  return {
    name,
    files: ini.files,
    prefregex: prefregex === undefined || prefregex.trim() === '' ? undefined : prefregex.trim(),
    failregex: lines('failregex'),
    ignoreregex: lines('ignoreregex'),
    journalmatch: journal.trim() === '' ? [] : journal.split(/\s+\+\s+/).map((alt) => alt.trim().split(/\s+/).filter(Boolean)),
    maxlines: Number(option('maxlines') ?? '1') || 1,
    mode: option('mode')?.trim(),
    params,
  };
}
