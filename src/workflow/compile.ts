import type { ActionInstance, FilterInstance } from '../modules/api.js';
import { closest, type ConfigIssue, type PathSegment } from '../config/errors.js';
import { END, type Program } from './program.js';

export interface StepSpec {
  label: string;
  path: PathSegment[];
  kind: 'filter' | 'action';
  instance: FilterInstance | ActionInstance | undefined;
  then?: string;
  else?: string;
}

export interface ChainSpec {
  name: string;
  path: PathSegment[];
  steps: StepSpec[];
}

/**
 * Links chains with Pyruse's semantics:
 * - a step without `then` goes to the next step; at the end of a chain a filter falls through to
 *   the next top-level chain, an action stops;
 * - a filter without `else` falls through to the next top-level chain;
 * - a chain reached by `then`/`else` before its turn in file order is a jump chain: skipped as a
 *   top-level chain (Pyruse compat: one declared *above* its first jump stays top-level too);
 * - a jump chain with open ends is linked again for each continuation (steps duplicated,
 *   module instances shared).
 */
export function compileWorkflow(chains: ChainSpec[]): { program: Program; issues: ConfigIssue[]; topLevel: string[] } {
  const issues: ConfigIssue[] = [];
  const byName = new Map(chains.map((c) => [c.name, c]));

  // Steps that can run: a step after an explicit `then` cannot.
  const live = new Map<string, StepSpec[]>();
  for (const chain of chains) {
    const steps: StepSpec[] = [];
    for (let i = 0; i < chain.steps.length; i++) {
      const step = chain.steps[i]!;
      steps.push(step);
      if (step.then !== undefined && i + 1 < chain.steps.length) {
        const dead = chain.steps[i + 1]!;
        issues.push({ severity: 'error', code: 'E_UNREACHABLE_STEP', path: dead.path,
          message: `this step can never run: the step before it (${step.label}) jumps to "${step.then}"; move it or remove that "then"` });
        break;
      }
    }
    live.set(chain.name, steps);
  }

  // asked for every pair of chains below: computed once per chain
  const targets = new Map<ChainSpec, string[]>();
  const targetsOf = (chain: ChainSpec): string[] => {
    let list = targets.get(chain);
    if (!list) targets.set(chain, list = (live.get(chain.name) ?? []).flatMap((s) => [s.then, s.else]).filter((t): t is string => t !== undefined));
    return list;
  };
  const order = new Map(chains.map((c, i) => [c, i]));
  for (const chain of chains) {
    for (const step of chain.steps) {
      for (const key of ['then', 'else'] as const) {
        const target = step[key];
        if (target !== undefined && !byName.has(target)) {
          const suggestion = closest(target, byName.keys());
          issues.push({ severity: 'error', code: 'E_UNKNOWN_CHAIN', path: [...step.path, key],
            message: `no chain named "${target}"${suggestion ? `, did you mean "${suggestion}"?` : ''}` });
        }
      }
    }
  }

  // Loops: a cycle of jumps would send an entry round forever.
  const color = new Map<string, 1 | 2>();
  const reportedLoops = new Set<string>();
  const visit = (name: string, trail: string[], via: PathSegment[][]) => {
    const chain = byName.get(name);
    if (!chain) return;
    color.set(name, 1);
    for (const step of live.get(name)!) {
      for (const key of ['then', 'else'] as const) {
        const target = step[key];
        if (target === undefined || !byName.has(target)) continue;
        if (color.get(target) === 1) {
          const cycle = [...trail.slice(trail.indexOf(target)), target];
          const key2 = [...cycle].slice(0, -1).sort().join('\0');
          if (!reportedLoops.has(key2)) {
            reportedLoops.add(key2);
            issues.push({ severity: 'error', code: 'E_LOOP', path: [...step.path, key], message: `chains jump in a loop: ${cycle.map((c) => JSON.stringify(c)).join(' → ')}` });
          }
        } else if (!color.has(target)) visit(target, [...trail, target], via);
      }
    }
    color.set(name, 2);
  };
  for (const chain of chains) if (!color.has(chain.name)) visit(chain.name, [chain.name], []);

  // Top-level chains, Pyruse order: a chain already reached from an earlier top-level chain is skipped.
  const reached = new Set<string>();
  const topLevel: string[] = [];
  const mark = (name: string) => {
    const chain = byName.get(name);
    if (!chain || reached.has(name)) return;
    reached.add(name);
    for (const t of targetsOf(chain)) mark(t);
  };
  for (const chain of chains) {
    if (reached.has(chain.name)) continue;
    topLevel.push(chain.name);
    mark(chain.name);
  }
  for (const chain of chains) {
    if (!topLevel.includes(chain.name)) continue;
    const jumpers = chains.filter((c) => c !== chain && order.get(c)! > order.get(chain)! && targetsOf(c).includes(chain.name));
    if (jumpers.length > 0) {
      issues.push({ severity: 'warning', code: 'W_JUMP_CHAIN_ABOVE', path: chain.path,
        message: `chain is also a jump target of "${jumpers[0]!.name}" declared below it, so it runs both as a top-level chain and as a jump chain (Pyruse semantics); declare it below its first caller if it should only be a jump chain` });
    }
  }

  // Open ends: does control ever leave this chain by falling through?
  const openMemo = new Map<string, boolean>();
  const hasOpenEnds = (name: string, stack: Set<string> = new Set()): boolean => {
    const cached = openMemo.get(name);
    if (cached !== undefined) return cached;
    if (stack.has(name)) return false;
    stack.add(name);
    const steps = live.get(name) ?? [];
    let open = steps.length === 0;
    steps.forEach((step, i) => {
      const last = i === steps.length - 1;
      if (step.kind === 'filter') {
        if (step.else === undefined || hasOpenEnds(step.else, stack)) open = true;
        if (step.then !== undefined ? hasOpenEnds(step.then, stack) : last) open = true;
      } else if (step.then !== undefined && hasOpenEnds(step.then, stack)) open = true;
    });
    stack.delete(name);
    openMemo.set(name, open);
    return open;
  };

  // Build, last top-level chain first so each one's continuation is known.
  const isFilter: number[] = [];
  const filters: (FilterInstance | undefined)[] = [];
  const actions: (ActionInstance | undefined)[] = [];
  const next: number[] = [];
  const alt: number[] = [];
  const labels: string[] = [];
  const built = new Map<string, number>();
  const instances = new Set<FilterInstance | ActionInstance>();

  const build = (name: string, continuation: number, stack: string[]): number => {
    const chain = byName.get(name);
    if (!chain || stack.includes(name)) return END; // reported above
    const memoKey = hasOpenEnds(name) ? `${name}\0${continuation}` : name;
    const existing = built.get(memoKey);
    if (existing !== undefined) return existing;
    const steps = live.get(name)!;
    if (steps.length === 0) { built.set(memoKey, continuation); return continuation; }
    const base = labels.length;
    built.set(memoKey, base);
    for (const step of steps) {
      isFilter.push(step.kind === 'filter' ? 1 : 0);
      filters.push(step.kind === 'filter' ? step.instance as FilterInstance | undefined : undefined);
      actions.push(step.kind === 'action' ? step.instance as ActionInstance | undefined : undefined);
      if (step.instance) instances.add(step.instance);
      labels.push(step.label);
      next.push(END);
      alt.push(END);
    }
    const inner = [...stack, name];
    steps.forEach((step, i) => {
      const here = base + i;
      const following = i + 1 < steps.length ? base + i + 1 : step.kind === 'filter' ? continuation : END;
      next[here] = step.then !== undefined ? build(step.then, continuation, inner) : following;
      if (step.kind === 'filter') alt[here] = step.else !== undefined ? build(step.else, continuation, inner) : continuation;
    });
    return base;
  };

  let continuation = END;
  for (let i = topLevel.length - 1; i >= 0; i--) continuation = build(topLevel[i]!, continuation, []);

  const size = labels.length;
  const program: Program = {
    entry: continuation,
    size,
    isFilter: Uint8Array.from(isFilter),
    filters,
    actions,
    next: Int32Array.from(next),
    alt: Int32Array.from(alt),
    labels,
    hits: new Float64Array(size),
    passes: new Float64Array(size),
    errors: new Float64Array(size),
    instances: [...instances],
  };
  return { program, issues, topLevel };
}
