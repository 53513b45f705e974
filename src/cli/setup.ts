import { buildProgram, formatIssue, type BuiltConfig, type Services } from '../config/build.js';
import { loadConfigFile } from '../config/load.js';
import type { ConfigIssue } from '../config/errors.js';
import type { Settings } from '../config/settings.js';
import { loadRegistry } from '../modules/registry.js';

export const EXIT_CONFIG = 78; // EX_CONFIG from sysexits.h, what systemd and admins expect

export function configPath(explicit: string | undefined): string {
  return explicit ?? process.env.PERUSE_CONFIG ?? '/etc/peruse/peruse.json';
}

export interface OpenedConfig extends BuiltConfig {
  file: string;
  issues: ConfigIssue[];
}

/** Loads, validates and builds a config; never throws for a bad config, returns its issues. */
export async function openConfig(file: string, makeServices: (settings: Settings) => Services): Promise<OpenedConfig> {
  const { config, issues } = loadConfigFile(file);
  if (!config) return { file, issues, topLevel: [], settings: undefined as unknown as Settings };
  const modulesDir = typeof config.raw.modules === 'string'
    ? (await import('node:path')).resolve((await import('node:path')).dirname(file), config.raw.modules) : undefined;
  const { registry, issues: moduleIssues } = await loadRegistry(modulesDir);
  const built = buildProgram(config, registry, makeServices);
  for (const issue of moduleIssues) {
    issue.offset = config.locate(issue.path);
    Object.assign(issue, config.position(issue.offset));
  }
  const all = [...moduleIssues, ...built.issues].sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
  return { ...built, file, issues: all, program: all.some((i) => i.severity === 'error') ? undefined : built.program };
}

/** Prints every issue, errors and warnings, as `FILE:LINE:COL  PATH  CODE  message`. */
export function printIssues(opened: { file: string; issues: ConfigIssue[] }, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  for (const issue of opened.issues) write(formatIssue(opened.file, issue));
}
