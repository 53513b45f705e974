import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ActionInstance, Clock, FilterInstance, ModuleContext } from '../modules/api.js';
import type { Registry } from '../modules/registry.js';
import type { State } from '../state/state.js';
import type { Logger } from '../system/log.js';
import type { CommandRunner } from '../system/exec.js';
import type { Mailer } from '../system/mailer-api.js';
import { compileWorkflow, type ChainSpec, type StepSpec } from '../workflow/compile.js';
import type { Program } from '../workflow/program.js';
import { clipMessage, ConfigError, closest, formatPath, parseSubPath, type ConfigIssue, type IssueSource, type PathSegment } from './errors.js';
import { expandConfig, type ChainSource } from './include.js';
import type { LoadedConfig } from './load.js';
import { KNOWN_TOP_LEVEL, topLevelSchema, validateAgainst } from './schema.js';
import { Settings } from './settings.js';
import { isKnownEncoding } from '../journal/fields.js';

export interface Services {
  state: State;
  clock: Clock;
  log: Logger;
  exec: CommandRunner;
  mailer: Mailer;
  dryRun: boolean;
  /** Dry-run: where an action describes a side effect instead of doing it. */
  effect?: (description: string) => void;
}

export interface BuiltConfig {
  settings: Settings;
  program?: Program;
  topLevel: string[];
  issues: ConfigIssue[];
  /** Which module and args made each instance (`peruse test` describes what an action would do). */
  origins?: Map<FilterInstance | ActionInstance, StepOrigin>;
}

export interface StepOrigin {
  /** The step's label, e.g. `SSH[2]` (origins are in config order). */
  label: string;
  module: string;
  args: Record<string, unknown>;
}

const STEP_KEYS = ['filter', 'action', 'args', 'then', 'else'];

/** Validates everything and builds the program; every problem is collected, none stops the others. */
export function buildProgram(config: LoadedConfig, registry: Registry, makeServices: (settings: Settings) => Services): BuiltConfig {
  const issues: ConfigIssue[] = [];
  // a chain's own shape (list of steps, or an include) is reported by the expansion and the step builder
  issues.push(...validateAgainst(topLevelSchema, config.raw, [], 'E_SCHEMA').filter((i) => !(i.path[0] === 'actions' && i.path.length >= 2)));
  const expansion = expandConfig(config);
  issues.push(...expansion.issues);
  for (const key of Object.keys(config.raw)) {
    if (!KNOWN_TOP_LEVEL.includes(key)) {
      const suggestion = closest(key, KNOWN_TOP_LEVEL);
      issues.push({ severity: 'warning', code: 'W_UNKNOWN_KEY', path: [key],
        message: `unknown top-level key "${key}"${suggestion ? `, did you mean "${suggestion}"?` : ''} (kept for user modules)` });
    }
  }
  const email = config.raw.email as { to?: unknown } | undefined;
  if (typeof email?.to === 'string') {
    issues.push({ severity: 'warning', code: 'W_PYRUSE_COMPAT', path: ['email', 'to'],
      message: `"to" is one address, not a list: mail goes to "${email.to}" (write ["${email.to}"])` });
  }
  const encoding = config.raw['8bit-message-encoding'];
  if (typeof encoding === 'string' && !isKnownEncoding(encoding)) {
    issues.push({ severity: 'error', code: 'E_SCHEMA', path: ['8bit-message-encoding'], message: `unknown encoding "${encoding}"` });
  }

  const settings = new Settings(config.raw, config.file);
  const services = makeServices(settings);
  const chains: ChainSpec[] = [];
  const origins = new Map<FilterInstance | ActionInstance, StepOrigin>();
  for (const rawChain of expansion.chains) {
    const chain: ChainSpec = { name: rawChain.name, path: rawChain.path, steps: [] };
    chains.push(chain);
    if (!rawChain.isArray) {
      issues.push({ severity: 'error', code: 'E_SCHEMA', path: rawChain.path, message: 'a chain must be a list of steps' });
      continue;
    }
    rawChain.steps.forEach((rawStep, index) => {
      const label = `${rawChain.name}[${index}]`;
      const step = buildStep(rawStep.value, rawStep.path, label, registry, settings, services, issues);
      if (step) chain.steps.push(step);
      if (step?.instance) {
        const raw = rawStep.value as Record<string, unknown>;
        origins.set(step.instance, { label, module: raw[step.kind] as string, args: (raw.args ?? {}) as Record<string, unknown> });
      }
    });
  }

  const { program, issues: linkIssues, topLevel } = compileWorkflow(chains);
  issues.push(...linkIssues);
  for (const issue of issues) locateIssue(issue, config, expansion.included);
  issues.sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.offset! - b.offset! || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const failed = issues.some((i) => i.severity === 'error');
  return { settings, program: failed ? undefined : program, topLevel, issues, origins };
}

/** Line and column of an issue, in the file where its path was written (an included rule file for its chains). */
function locateIssue(issue: ConfigIssue, config: LoadedConfig, included: Map<string, ChainSource>): void {
  let source: IssueSource | undefined = issue.source;
  let at = issue.path;
  const chain = at[0] === 'actions' && typeof at[1] === 'string' ? included.get(at[1]) : undefined;
  if (!source && chain) {
    source = chain.source;
    at = ['actions', chain.name, ...at.slice(2)];
  }
  source ??= config;
  issue.offset ??= source.locate(at);
  const { line, column } = source.position(issue.offset);
  issue.line = line;
  issue.column = column;
  if (source !== config) issue.file = source.file;
  delete issue.source;
}

function buildStep(value: unknown, path: PathSegment[], label: string, registry: Registry, settings: Settings,
  services: Services, issues: ConfigIssue[]): StepSpec | undefined {
  const error = (code: ConfigIssue['code'], message: string, at: PathSegment[] = path) =>
    issues.push({ severity: 'error', code, path: at, message });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    error('E_SCHEMA', 'a step must be an object like {"filter": NAME, "args": {...}} or {"action": NAME}');
    return undefined;
  }
  const step = value as Record<string, unknown>;
  const warn = (code: ConfigIssue['code'], message: string, at: PathSegment[]) => issues.push({ severity: 'warning', code, path: at, message });
  for (const key of Object.keys(step)) {
    // Pyruse compat: a step's unknown keys ("comment", …) are ignored
    if (!STEP_KEYS.includes(key)) warn('W_UNKNOWN_KEY', unknownKeyMessage(key, STEP_KEYS), [...path, key]);
  }
  const hasFilter = 'filter' in step, hasAction = 'action' in step;
  if (hasFilter === hasAction) {
    error('E_SCHEMA', hasFilter ? 'a step is either a filter or an action, not both' : 'a step needs "filter" or "action"');
    return undefined;
  }
  const kind: 'filter' | 'action' = hasFilter ? 'filter' : 'action';
  const name = step[kind];
  // Pyruse compat: "else" on an action is ignored (an action never fails over to another chain)
  if (kind === 'action' && 'else' in step) {
    warn('W_PYRUSE_COMPAT', 'an action has no "else" (only filters pass or fail): ignored, as Pyruse does', [...path, 'else']);
  }
  for (const key of kind === 'filter' ? ['then', 'else'] as const : ['then'] as const) {
    if (key in step && typeof step[key] !== 'string') error('E_SCHEMA', `"${key}" must be a chain name (string)`, [...path, key]);
  }
  const spec: StepSpec = {
    label, path, kind, instance: undefined,
    then: typeof step.then === 'string' ? step.then : undefined,
    else: kind === 'filter' && typeof step.else === 'string' ? step.else : undefined,
  };
  if (typeof name !== 'string') {
    error('E_SCHEMA', `"${kind}" must be a module name (string)`, [...path, kind]);
    return spec;
  }
  const module = registry.get(name);
  if (!module) {
    const suggestion = closest(name, registry.names());
    error('E_UNKNOWN_MODULE', `no ${kind} module named "${name}"${suggestion ? `, did you mean "${suggestion}"?` : pythonModuleHint(name, kind, settings)}`, [...path, kind]);
    return spec;
  }
  if (module.kind !== kind) {
    error('E_UNKNOWN_MODULE', `"${name}" is ${module.kind === 'filter' ? 'a filter' : 'an action'}: write {"${module.kind}": "${name}"}`, [...path, kind]);
    return spec;
  }
  let args = step.args ?? {};
  const argsPath = [...path, 'args'];
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    error('E_BAD_ARGS', '"args" must be an object', argsPath);
    return spec;
  }
  if (module.argsSchema) {
    args = withoutUnknownArgs(module.argsSchema, args as Record<string, unknown>, (key, known) =>
      warn('W_UNKNOWN_KEY', unknownKeyMessage(key, known), [...argsPath, key]));
    const argIssues = validateAgainst(module.argsSchema, args, argsPath, 'E_BAD_ARGS');
    if (argIssues.length > 0) {
      issues.push(...argIssues);
      return spec;
    }
  }
  const ctx: ModuleContext = {
    path: formatPath(path), label, settings, ...services,
    warn: (message, sub, code) => issues.push({ severity: 'warning', code: code ?? 'W_MODULE',
      path: sub ? [...argsPath, ...parseSubPath(sub)] : path, message }),
  };
  try {
    spec.instance = (module.create as (a: unknown, c: ModuleContext) => FilterInstance | ActionInstance)(args, ctx);
  } catch (e) {
    if (e instanceof ConfigError) error(e.code, e.message, e.argsSubPath ? [...argsPath, ...parseSubPath(e.argsSubPath)] : path);
    else error('E_BAD_ARGS', `${name}: ${(e as Error).message ?? String(e)}`, argsPath);
  }
  return spec;
}

/** Where Pyruse keeps user modules: a Python one cannot run here, it must be ported. */
function pythonModuleHint(name: string, kind: 'filter' | 'action', settings: Settings): string {
  const candidates = [path.join(settings.configDir, 'pyruse', `${kind}s`, `${name}.py`), path.join('/etc/pyruse/pyruse', `${kind}s`, `${name}.py`)];
  if (settings.modulesDir) candidates.unshift(path.join(settings.modulesDir, `${name}.py`));
  const found = candidates.find((file) => existsSync(file));
  const target = `${settings.modulesDir ?? path.join(settings.configDir, 'modules')}/${name}.mjs`;
  return found
    ? `: ${found} is a Pyruse (Python) module, which peruse cannot run; port it to a JavaScript user module ${target} (docs/modules.md, "User modules")`
    : ` (a Pyruse Python module must be ported to a JavaScript user module, e.g. ${target}: docs/modules.md, "User modules")`;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closest(key, known);
  return `unknown key "${key}" ignored, as Pyruse does${suggestion ? ` (did you mean "${suggestion}"?)` : known.length ? ` (known: ${known.join(', ')})` : ' (this module takes no args)'}`;
}

/**
 * Pyruse compat: a module reads the args it knows and ignores the others ("comment", args on
 * action_noop, `save` on filter_pcreAny); they are reported and left out of what the module gets.
 */
function withoutUnknownArgs(schema: object, args: Record<string, unknown>, report: (key: string, known: string[]) => void): Record<string, unknown> {
  const { additionalProperties, properties, patternProperties } = schema as { additionalProperties?: unknown; properties?: object; patternProperties?: object };
  if (additionalProperties !== false || patternProperties !== undefined) return args;
  const known = Object.keys(properties ?? {});
  const unknown = Object.keys(args).filter((key) => !known.includes(key));
  if (unknown.length === 0) return args;
  for (const key of unknown) report(key, known);
  return Object.fromEntries(Object.entries(args).filter(([key]) => known.includes(key)));
}

/** `FILE:LINE:COL  PATH  CODE  message`, one line per issue. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  return `${issue.file ?? file}:${issue.line ?? 1}:${issue.column ?? 1}  ${formatPath(issue.path)}  ${issue.code}  ${clipMessage(issue.message)}`;
}
