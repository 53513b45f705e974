// The whole import: every selected jail of a fail2ban configuration → one peruse config and a report.
import { convertJail, type Chains, type JailReport } from './convert.js';
import { readJails } from './jails.js';

export interface ImportResult {
  config: { actions: Chains };
  reports: JailReport[];
  files: string[];
}

/** Imports the enabled jails, or exactly `only` (enabled or not). Unknown names in `only` throw. */
export function importFail2ban(dir: string, only?: readonly string[]): ImportResult {
  const { jails, files } = readJails(dir);
  const known = new Set(jails.map((j) => j.name));
  const missing = (only ?? []).filter((n) => !known.has(n));
  if (missing.length > 0) throw new Error(`no jail ${missing.map((n) => `[${n}]`).join(', ')} in ${dir}`);
  const selected = only && only.length > 0 ? jails.filter((j) => only.includes(j.name)) : jails.filter((j) => j.enabled);
  const chains: Chains = {};
  const reports: JailReport[] = [];
  for (const jail of selected) {
    const mine: Chains = {};
    const report = convertJail(jail, { dir }, mine);
    if (report.status !== 'not converted') Object.assign(chains, mine);
    if (!jail.enabled) report.notes.unshift('not enabled in fail2ban (imported because it was named)');
    reports.push(report);
  }
  return { config: { actions: chains }, reports, files };
}

/** The report as text lines: one block per jail. */
export function reportText(reports: readonly JailReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`[${r.jail}] ${r.status}${r.filter ? ` (filter ${r.filter})` : ''}`);
    for (const note of r.notes) lines.push(`  - ${note}`);
    for (const set of [...new Set(r.sets)]) lines.push(`  - create: ${set}`);
  }
  const by = (s: JailReport['status']) => reports.filter((r) => r.status === s).length;
  lines.push(`${reports.length} jail(s): ${by('converted')} converted, ${by('converted with warnings')} converted with warnings, ${by('not converted')} not converted`);
  return lines.join('\n');
}
