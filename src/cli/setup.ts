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
  const { registry, issues: moduleIssues } = await loadRegistry(modulesDir, modulesNamedIn(config.raw));
  const built = buildProgram(config, registry, makeServices);
  for (const issue of moduleIssues) {
    issue.offset = config.locate(issue.path);
    Object.assign(issue, config.position(issue.offset));
  }
  const all = [...moduleIssues, ...built.issues].sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
  return { ...built, file, issues: all, program: all.some((i) => i.severity === 'error') ? undefined : built.program };
}

/**
 * The module names a config can use: every string of it that looks like one. Undefined (load them
 * all) when it includes rule files, whose steps are read later.
 */
function modulesNamedIn(raw: Record<string, unknown>): ReadonlySet<string> | undefined {
  const names = new Set<string>();
  let includes = false;
  const walk = (value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if (key === 'include') includes = true;
      else if (/^(?:filter|action)_/.test(value)) names.add(value);
    } else if (Array.isArray(value)) for (const v of value) walk(v, undefined);
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(raw.actions, undefined);
  return includes ? undefined : names;
}

/** Prints every issue, errors and warnings, as `FILE:LINE:COL  PATH  CODE  message`. */
export function printIssues(opened: { file: string; issues: ConfigIssue[] }, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  for (const issue of opened.issues) write(formatIssue(opened.file, issue));
}
