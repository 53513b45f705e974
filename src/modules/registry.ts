import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyModule } from './api.js';
import type { ConfigIssue } from '../config/errors.js';

const MODULE_FILE = /^((?:filter|action)_[A-Za-z0-9_]+)\.(?:js|mjs|ts)$/;
const here = path.dirname(fileURLToPath(import.meta.url));

export class Registry {
  private readonly modules = new Map<string, AnyModule & { source: string }>();
  /** Built-ins known by their file name but not loaded (a config that does not use them). */
  private readonly unloaded = new Map<string, string>();

  get(name: string): (AnyModule & { source: string }) | undefined {
    return this.modules.get(name);
  }

  /** Where a name is taken, loaded or not. */
  sourceOf(name: string): string | undefined {
    return this.modules.get(name)?.source ?? this.unloaded.get(name);
  }

  names(): string[] {
    return [...new Set([...this.modules.keys(), ...this.unloaded.keys()])].sort();
  }

  addUnloaded(name: string, source: string): void {
    if (!this.modules.has(name)) this.unloaded.set(name, source);
  }

  add(module: AnyModule, source: string): void {
    this.modules.set(module.name, { ...module, source });
  }
}

let builtins: Promise<Registry> | undefined;

/** Built-in modules: every `filters/filter_*.{js,ts}` and `actions/action_*.{js,ts}` beside the engine. */
export function loadBuiltins(): Promise<Registry> {
  builtins ??= loadBuiltinFiles(undefined);
  return builtins;
}

/**
 * The built-ins, loading only the files of `only` (a module file is named as configs name it);
 * the others are known by name, for "did you mean" and name conflicts. `check` of a config that
 * uses 15 modules does not load the other ones.
 */
async function loadBuiltinFiles(only: ReadonlySet<string> | undefined): Promise<Registry> {
  const registry = new Registry();
  for (const dir of ['filters', 'actions']) {
    const full = path.resolve(here, '../..', dir);
    const files = readdirSync(full).filter((f) => MODULE_FILE.test(f) && !f.endsWith('.d.ts'));
    const wanted = only === undefined ? files : files.filter((f) => only.has(MODULE_FILE.exec(f)![1]!));
    for (const f of files) if (!wanted.includes(f)) registry.addUnloaded(MODULE_FILE.exec(f)![1]!, `built-in ${dir}/${f}`);
    const loaded = await Promise.all(wanted.map(async (f) => [f, (await import(pathToFileURL(path.join(full, f)).href)).default as AnyModule] as const));
    for (const [file, module] of loaded) {
      if (module && typeof module.create === 'function') registry.add(module, `built-in ${dir}/${file}`);
    }
  }
  return registry;
}

/** A registry with the built-ins plus the user modules of `dir` (`*.js`, `*.mjs`). */
export async function loadRegistry(userDir: string | undefined, only?: ReadonlySet<string>): Promise<{ registry: Registry; issues: ConfigIssue[] }> {
  const base = only === undefined ? await loadBuiltins() : await loadBuiltinFiles(only);
  const registry = new Registry();
  for (const name of base.names()) {
    const m = base.get(name);
    if (m) registry.add(m, m.source);
    else registry.addUnloaded(name, base.sourceOf(name)!);
  }
  const issues: ConfigIssue[] = [];
  if (!userDir) return { registry, issues };
  let files: string[];
  try {
    files = readdirSync(userDir).filter((f) => /\.(?:js|mjs)$/.test(f)).sort();
  } catch (e) {
    issues.push({ severity: 'error', code: 'E_MODULE_LOAD', path: ['modules'], message: `cannot read the modules directory ${userDir}: ${(e as Error).message}` });
    return { registry, issues };
  }
  for (const file of files) {
    const full = path.join(userDir, file);
    let module: AnyModule | undefined;
    try {
      module = (await import(pathToFileURL(full).href)).default as AnyModule;
    } catch (e) {
      issues.push({ severity: 'error', code: 'E_MODULE_LOAD', path: ['modules'], message: `${full}: ${(e as Error).message}` });
      continue;
    }
    const problem = describeBadModule(module);
    if (problem) {
      issues.push({ severity: 'error', code: 'E_MODULE_LOAD', path: ['modules'], message: `${full}: ${problem}` });
      continue;
    }
    const existing = registry.sourceOf(module!.name);
    if (existing) {
      issues.push({ severity: 'error', code: 'E_MODULE_CONFLICT', path: ['modules'], message: `${full}: module name "${module!.name}" is already taken by ${existing}` });
      continue;
    }
    registry.add(module!, `user module ${full}`);
  }
  return { registry, issues };
}

function describeBadModule(m: unknown): string | undefined {
  if (!m || typeof m !== 'object') return 'must default-export { kind, name, create }';
  const { kind, name, create } = m as Record<string, unknown>;
  if (kind !== 'filter' && kind !== 'action') return `kind must be "filter" or "action", not ${JSON.stringify(kind)}`;
  if (typeof name !== 'string' || !/^\S+$/.test(name)) return 'name must be a non-empty string without spaces';
  if (typeof create !== 'function') return 'create(args, ctx) must be a function';
  return undefined;
}
