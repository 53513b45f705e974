// fail2ban's jails as fail2ban layers them: jail.conf, jail.d/*.conf, jail.local, jail.d/*.local
// (each with its [INCLUDES]); a jail's options fall back to [DEFAULT], `%(__name__)s` is its name.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { IniSet, interpolate } from './ini.js';

export interface Jail {
  name: string;
  enabled: boolean;
  /** An option of the jail, expanded; undefined when neither the jail nor [DEFAULT] sets it. */
  get(key: string): string | undefined;
}

export function jailFiles(dir: string): string[] {
  const sorted = (ext: string) => {
    const d = path.join(dir, 'jail.d');
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(d, f));
  };
  return [path.join(dir, 'jail.conf'), ...sorted('.conf'), path.join(dir, 'jail.local'), ...sorted('.local')];
}

export function readJails(dir: string): { jails: Jail[]; files: string[] } {
  const ini = new IniSet();
  for (const file of jailFiles(dir)) ini.readFile(file);
  if (ini.files.length === 0) throw new Error(`${dir}: no jail.conf or jail.local (is this fail2ban's configuration directory?)`);
  const defaults = ini.section('DEFAULT') ?? new Map<string, string>();
  const jails: Jail[] = [];
  for (const [name, section] of ini.sections) {
    if (name === 'DEFAULT' || name === 'INCLUDES' || name === 'Definition' || name === 'Init') continue;
    const raw = (key: string): string | undefined => {
      if (key === '__name__') return name;
      if (key.includes('/')) {
        const [where, option] = key.split('/', 2) as [string, string];
        if (where === 'known') return section.get(key) ?? defaults.get(key) ?? (section.has(option) ? defaults.get(option) : undefined) ?? '';
        // `%(default/backend)s`: the [DEFAULT] value, whatever the jail sets
        if (where.toLowerCase() === 'default') return defaults.get(option);
        return ini.section(where)?.get(option);
      }
      return section.get(key) ?? defaults.get(key);
    };
    const get = (key: string) => {
      const value = raw(key);
      return value === undefined ? undefined : interpolate(value, raw);
    };
    const enabled = /^(true|yes|1|on)$/i.test((get('enabled') ?? 'false').trim());
    jails.push({ name, enabled, get });
  }
  return { jails, files: ini.files };
}

const UNITS: Record<string, number> = {
  s: 1, sec: 1, second: 1, seconds: 1, m: 60, mi: 60, min: 60, minute: 60, minutes: 60,
  h: 3600, hour: 3600, hours: 3600, d: 86400, day: 86400, days: 86400,
  w: 604800, wk: 604800, week: 604800, weeks: 604800, mo: 2_592_000, month: 2_592_000, months: 2_592_000,
  y: 31_536_000, yy: 31_536_000, year: 31_536_000, years: 31_536_000,
};

/** fail2ban's durations: `600`, `10m`, `1h 30m`, `1d`, `1w`, `-1` (forever → undefined). Throws on anything else. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^-\d+$/.test(t)) return undefined;
  let total = 0;
  let matched = '';
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)\s*/gi)) {
    const unit = m[2]!.toLowerCase();
    const factor = unit === '' ? 1 : UNITS[unit];
    if (factor === undefined) throw new Error(`"${text}": unknown time unit "${m[2]}"`);
    total += Number(m[1]) * factor;
    matched += m[0];
  }
  if (matched.length !== t.length || t === '') throw new Error(`"${text}" is not a duration (600, 10m, 1h, 1d, 1w …)`);
  return total;
}
