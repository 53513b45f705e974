// Composable configs: a chain entry `"sshd": {"include": "rules/sshd.json", "params": {...}}` pulls
// the chains of a rule file in at that place, and `<<name>>` in a string stands for a parameter or
// a named pattern piece. `<<…>>` means nothing to Python regexes nor to str.format templates.
// A file without `params`/`patterns` that is not included is left exactly as written (Pyruse compat).
import path from 'node:path';
import type { ConfigIssue, PathSegment } from './errors.js';
import { loadConfigFile, type LoadedConfig, type RawChain } from './load.js';

/** Where a chain of the expanded config was written: its file and its name there. */
export interface ChainSource {
  source: LoadedConfig;
  name: string;
}

export interface Expansion {
  chains: RawChain[];
  /** Chains that came from included files, by their name in the expanded config. */
  included: Map<string, ChainSource>;
  issues: ConfigIssue[];
}

const REFERENCE = /<<([A-Za-z_][\w-]*)>>/g;
const WHOLE_REFERENCE = /^<<([A-Za-z_][\w-]*)>>$/;
const MAX_DEPTH = 8;

/** Whether a file uses the composition keys (else nothing in it is rewritten). */
function isComposable(raw: Record<string, unknown>): boolean {
  return 'params' in raw || 'patterns' in raw;
}

/** Expands includes and `<<name>>` references of a loaded config. */
export function expandConfig(config: LoadedConfig): Expansion {
  const included = new Map<string, ChainSource>();
  const issues: ConfigIssue[] = [];
  const chains = expandFile(config, undefined, [config.file], included, issues, undefined);
  return { chains, included, issues };
}

function expandFile(config: LoadedConfig, overrides: Record<string, unknown> | undefined, stack: string[],
  included: Map<string, ChainSource>, issues: ConfigIssue[], prefix: string | undefined): RawChain[] {
  const raw = config.raw;
  // issues about this file: positions in it; an included file's are tagged with their source
  const issue = (at: PathSegment[], message: string, code: ConfigIssue['code'] = 'E_INCLUDE') =>
    issues.push({ severity: 'error', code, path: at, message, ...(prefix !== undefined ? { source: config } : {}) } as ConfigIssue);
  const composable = prefix !== undefined || isComposable(raw);
  const values = composable ? collectValues(raw, overrides, issue) : new Map<string, unknown>();
  const rename = (name: string) => (prefix === undefined ? name : `${prefix}/${name}`);
  const localNames = new Set(config.chains.map((c) => c.name));
  const out: RawChain[] = [];
  const actions = (raw.actions ?? {}) as Record<string, unknown>;

  for (const chain of config.chains) {
    const name = rename(chain.name);
    if (prefix !== undefined) included.set(name, { source: config, name: chain.name });
    const value = actions[chain.name];
    if (!chain.isArray && typeof value === 'object' && value !== null && 'include' in value) {
      out.push(...includeChain(config, chain, value as Record<string, unknown>, name, stack, included, issues, issue, composable ? values : undefined));
      continue;
    }
    if (!composable || !chain.isArray) {
      out.push({ ...chain, name, path: ['actions', name] });
      continue;
    }
    out.push({
      name, isArray: true, path: ['actions', name],
      steps: chain.steps.map((step, i) => {
        const stepPath: PathSegment[] = ['actions', chain.name, i];
        let value = substitute(step.value, values, stepPath, issue);
        // jumps inside an included file go to its own (renamed) chains
        if (prefix !== undefined && typeof value === 'object' && value !== null) {
          const s = { ...(value as Record<string, unknown>) };
          for (const key of ['then', 'else']) if (typeof s[key] === 'string' && localNames.has(s[key] as string)) s[key] = rename(s[key] as string);
          value = s;
        }
        return { value, path: ['actions', name, i] };
      }),
    });
  }
  return out;
}

function includeChain(config: LoadedConfig, chain: RawChain, value: Record<string, unknown>, name: string, stack: string[],
  included: Map<string, ChainSource>, issues: ConfigIssue[], issue: (at: PathSegment[], message: string) => void,
  values: Map<string, unknown> | undefined): RawChain[] {
  const at: PathSegment[] = ['actions', chain.name];
  for (const key of Object.keys(value)) {
    if (key !== 'include' && key !== 'params') issue([...at, key], `unknown property "${key}" of an include (known: include, params)`);
  }
  if (typeof value.include !== 'string') { issue([...at, 'include'], '"include" must be the path of a rule file'); return []; }
  // the including file's own parameters may be handed on: {"banSeconds": "<<banSeconds>>"}
  const params = values ? substitute(value.params ?? {}, values, [...at, 'params'], issue) : value.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) { issue([...at, 'params'], '"params" must be an object'); return []; }
  const file = path.resolve(path.dirname(config.file), value.include);
  if (stack.includes(file)) { issue([...at, 'include'], `include loop: ${[...stack, file].map((f) => path.basename(f)).join(' → ')}`); return []; }
  if (stack.length > MAX_DEPTH) { issue([...at, 'include'], `includes nested deeper than ${MAX_DEPTH}`); return []; }
  const loaded = loadConfigFile(file);
  if (!loaded.config) {
    for (const i of loaded.issues) issue([...at, 'include'], `${value.include}: ${i.message}${i.line ? ` (line ${i.line}, column ${i.column})` : ''}`);
    return [];
  }
  const declared = loaded.config.raw.params;
  const known = typeof declared === 'object' && declared !== null ? Object.keys(declared) : [];
  let ok = true;
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      issue([...at, 'params', key], `${value.include} has no parameter "${key}"${known.length ? ` (its parameters: ${known.join(', ')})` : ''}`);
      ok = false;
    }
  }
  if (!ok) return [];
  return expandFile(loaded.config, params as Record<string, unknown>, [...stack, file], included, issues, name);
}

/** The values `<<name>>` stands for in one file: its params (defaults, then the include's), then its patterns. */
function collectValues(raw: Record<string, unknown>, overrides: Record<string, unknown> | undefined,
  issue: (at: PathSegment[], message: string) => void): Map<string, unknown> {
  const values = new Map<string, unknown>();
  const params = raw.params;
  if (params !== undefined) {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) issue(['params'], '"params" must be an object of name → default value');
    else for (const [k, v] of Object.entries(params)) values.set(k, overrides && k in overrides ? overrides[k] : v);
  }
  const patterns = raw.patterns;
  if (patterns === undefined) return values;
  if (typeof patterns !== 'object' || patterns === null || Array.isArray(patterns)) {
    issue(['patterns'], '"patterns" must be an object of name → regex piece');
    return values;
  }
  const pieces = patterns as Record<string, unknown>;
  const resolving = new Set<string>();
  const resolve = (name: string): string | undefined => {
    if (values.has(name)) return String(values.get(name));
    const piece = pieces[name];
    if (typeof piece !== 'string') {
      issue(['patterns', name], piece === undefined ? `unknown pattern "<<${name}>>"` : 'a pattern must be a string');
      return undefined;
    }
    if (resolving.has(name)) { issue(['patterns', name], `pattern "${name}" refers to itself: ${[...resolving, name].join(' → ')}`); return undefined; }
    resolving.add(name);
    const text = piece.replace(REFERENCE, (all, ref: string) => resolve(ref) ?? all);
    resolving.delete(name);
    values.set(name, text);
    return text;
  };
  for (const name of Object.keys(pieces)) {
    if (values.has(name) && params && name in (params as object)) issue(['patterns', name], `"${name}" is both a parameter and a pattern`);
    else resolve(name);
  }
  return values;
}

/** Every string of a step with its references replaced; `"<<name>>"` alone takes the value's own type (a number, a list). */
function substitute(value: unknown, values: Map<string, unknown>, at: PathSegment[], issue: (at: PathSegment[], message: string) => void): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_REFERENCE.exec(value);
    if (whole) {
      if (values.has(whole[1]!)) return values.get(whole[1]!);
      issue(at, `unknown parameter or pattern "<<${whole[1]}>>"`);
      return value;
    }
    if (!value.includes('<<')) return value;
    return value.replace(REFERENCE, (all, name: string) => {
      if (!values.has(name)) { issue(at, `unknown parameter or pattern "<<${name}>>"`); return all; }
      const v = values.get(name);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, values, [...at, i], issue));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values, [...at, k], issue)]));
  }
  return value;
}
