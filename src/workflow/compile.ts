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

  // asked by several passes below: computed once per chain
  const targets = new Map<string, string[]>();
  const targetsOf = (name: string): string[] => {
    let list = targets.get(name);
    if (!list) targets.set(name, list = (live.get(name) ?? []).flatMap((s) => [s.then, s.else]).filter((t): t is string => t !== undefined));
    return list;
  };
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

  // Every walk below keeps its own stack: a config may chain thousands of jumps, deeper than the call stack.
  findLoops(chains, byName, live, issues);

  // Top-level chains, Pyruse order: a chain already reached from an earlier top-level chain is skipped.
  const reached = new Set<string>();
  const topLevel: string[] = [];
  for (const chain of chains) {
    if (reached.has(chain.name)) continue;
    topLevel.push(chain.name);
    const pending = [chain.name];
    reached.add(chain.name);
    while (pending.length > 0) {
      for (const target of targetsOf(pending.pop()!)) {
        if (byName.has(target) && !reached.has(target)) { reached.add(target); pending.push(target); }
      }
    }
  }
  // The first chain declared below each chain that jumps to it, in one pass over all jumps.
  const order = new Map(chains.map((c, i) => [c.name, i]));
  const firstJumperBelow = new Map<string, ChainSpec>();
  for (const [i, chain] of chains.entries()) {
    for (const target of targetsOf(chain.name)) {
      const targetIndex = order.get(target);
      if (targetIndex !== undefined && targetIndex < i && chain.name !== target && !firstJumperBelow.has(target)) firstJumperBelow.set(target, chain);
    }
  }
  const topLevelSet = new Set(topLevel);
  for (const chain of chains) {
    const jumper = firstJumperBelow.get(chain.name);
    if (jumper && topLevelSet.has(chain.name)) {
      issues.push({ severity: 'warning', code: 'W_JUMP_CHAIN_ABOVE', path: chain.path,
        message: `chain is also a jump target of "${jumper.name}" declared below it, so it runs both as a top-level chain and as a jump chain (Pyruse semantics); declare it below its first caller if it should only be a jump chain` });
    }
  }

  // Open ends: does control ever leave this chain by falling through? (false on a loop, reported above)
  const openMemo = new Map<string, boolean>();
  const hasOpenEnds = (root: string): boolean => {
    const cached = openMemo.get(root);
    if (cached !== undefined) return cached;
    interface Frame { name: string; open: boolean; jumps: string[]; next: number }
    const frameOf = (name: string): Frame => {
      const steps = live.get(name) ?? [];
      let open = steps.length === 0;
      const jumps: string[] = [];
      steps.forEach((step, i) => {
        if (step.kind === 'filter') {
          if (step.else === undefined) open = true; else jumps.push(step.else);
          if (step.then !== undefined) jumps.push(step.then); else if (i === steps.length - 1) open = true;
        } else if (step.then !== undefined) jumps.push(step.then);
      });
      return { name, open, jumps, next: 0 };
    };
    const stack = [frameOf(root)];
    const onStack = new Set([root]);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next < frame.jumps.length) {
        const target = frame.jumps[frame.next++]!;
        const known = openMemo.get(target);
        if (known !== undefined) frame.open ||= known;
        else if (!onStack.has(target)) { onStack.add(target); stack.push(frameOf(target)); }
        continue;
      }
      stack.pop();
      onStack.delete(frame.name);
      openMemo.set(frame.name, frame.open);
      const parent = stack[stack.length - 1];
      if (parent) parent.open ||= frame.open;
    }
    return openMemo.get(root)!;
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

  interface BuildFrame { name: string; steps: StepSpec[]; base: number; continuation: number; step: number; jumpDone: boolean }
  const onStack = new Set<string>();
  /** A chain's first step number when already known, or a frame whose steps were just laid out. */
  const layOut = (name: string, continuation: number): number | BuildFrame => {
    if (!byName.has(name) || onStack.has(name)) return END; // reported above
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
    onStack.add(name);
    return { name, steps, base, continuation, step: 0, jumpDone: false };
  };
  // Depth first, as a recursive build would: a jump target is laid out before the next step's.
  const build = (name: string, continuation: number): number => {
    const first = layOut(name, continuation);
    if (typeof first === 'number') return first;
    const stack = [first];
    let returned: number | undefined;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      let descended = false;
      while (frame.step < frame.steps.length && !descended) {
        const step = frame.steps[frame.step]!;
        const here = frame.base + frame.step;
        // `jumpDone` false: next[] (then) still to link; true: alt[] (else)
        const target = frame.jumpDone ? (step.kind === 'filter' ? step.else : undefined) : step.then;
        let link: number;
        if (returned !== undefined) { link = returned; returned = undefined; }
        else if (target !== undefined) {
          const laid = layOut(target, frame.continuation);
          if (typeof laid !== 'number') { stack.push(laid); descended = true; continue; }
          link = laid;
        } else if (!frame.jumpDone) {
          link = frame.step + 1 < frame.steps.length ? here + 1 : step.kind === 'filter' ? frame.continuation : END;
        } else link = step.kind === 'filter' ? frame.continuation : END;
        if (!frame.jumpDone) { next[here] = link; frame.jumpDone = true; }
        else { alt[here] = link; frame.jumpDone = false; frame.step++; }
      }
      if (descended) continue;
      stack.pop();
      onStack.delete(frame.name);
      returned = frame.base;
    }
    return first.base;
  };

  let continuation = END;
  for (let i = topLevel.length - 1; i >= 0; i--) continuation = build(topLevel[i]!, continuation);

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

/** Loops: a cycle of jumps would send an entry round for ever. Each cycle is reported once. */
function findLoops(chains: ChainSpec[], byName: Map<string, ChainSpec>, live: Map<string, StepSpec[]>, issues: ConfigIssue[]): void {
  const color = new Map<string, 1 | 2>();
  const reportedLoops = new Set<string>();
  interface Jump { step: StepSpec; key: 'then' | 'else'; target: string }
  const jumpsOf = (name: string): Jump[] => (live.get(name) ?? []).flatMap((step) =>
    (['then', 'else'] as const).flatMap((key) => {
      const target = step[key];
      return target !== undefined && byName.has(target) ? [{ step, key, target }] : [];
    }));
  for (const chain of chains) {
    if (color.has(chain.name)) continue;
    // trail: the chains on the current path, with where each one sits in it
    const trail: { name: string; jumps: Jump[]; next: number }[] = [{ name: chain.name, jumps: jumpsOf(chain.name), next: 0 }];
    const trailIndex = new Map([[chain.name, 0]]);
    color.set(chain.name, 1);
    while (trail.length > 0) {
      const frame = trail[trail.length - 1]!;
      const jump = frame.jumps[frame.next++];
      if (!jump) {
        color.set(frame.name, 2);
        trailIndex.delete(frame.name);
        trail.pop();
        continue;
      }
      if (color.get(jump.target) === 1) {
        const cycle = [...trail.slice(trailIndex.get(jump.target)!).map((f) => f.name), jump.target];
        const loopKey = cycle.slice(0, -1).sort().join('\0');
        if (!reportedLoops.has(loopKey)) {
          reportedLoops.add(loopKey);
          issues.push({ severity: 'error', code: 'E_LOOP', path: [...jump.step.path, jump.key], message: `chains jump in a loop: ${cycle.map((c) => JSON.stringify(c)).join(' → ')}` });
        }
      } else if (!color.has(jump.target)) {
        color.set(jump.target, 1);
        trailIndex.set(jump.target, trail.length);
        trail.push({ name: jump.target, jumps: jumpsOf(jump.target), next: 0 });
      }
    }
  }
}
