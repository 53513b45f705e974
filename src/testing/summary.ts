// The result of `peruse test`: built while entries go through, printed for a person or as JSON.
import type { Program } from '../workflow/program.js';
import type { Effect } from './effects.js';
import { Groups } from './similar.js';

export interface StepSummary {
  step: string;
  module: string;
  kind: 'filter' | 'action';
  hits: number;
  passes?: number;
  errors: number;
}

export interface SampleFailure {
  where: string;
  line: string;
  differences: string[];
}

export class TestSummary {
  entries = 0;
  annotated = 0;
  unparsed = 0;
  readonly unparsedExamples: string[] = [];
  readonly failures: SampleFailure[] = [];
  readonly effects = new Map<string, { step: string; kind: Effect['kind']; count: number; texts: Groups<undefined> }>();
  readonly unhandled = new Groups<string>();
  unhandledCount = 0;

  addEffect(effect: Effect): void {
    let group = this.effects.get(effect.step);
    if (!group) this.effects.set(effect.step, group = { step: effect.step, kind: effect.kind, count: 0, texts: new Groups() });
    group.count++;
    group.texts.add(effect.text, undefined);
  }

  steps(program: Program, moduleOf: (index: number) => string): StepSummary[] {
    const byLabel = new Map<string, StepSummary>();
    for (let i = 0; i < program.size; i++) {
      const label = program.labels[i]!;
      const isFilter = program.isFilter[i] === 1;
      let s = byLabel.get(label);
      if (!s) byLabel.set(label, s = { step: label, module: moduleOf(i), kind: isFilter ? 'filter' : 'action', hits: 0, errors: 0, ...(isFilter ? { passes: 0 } : {}) });
      s.hits += program.hits[i]!;
      s.errors += program.errors[i]!;
      if (s.passes !== undefined) s.passes += program.passes[i]!;
    }
    return [...byLabel.values()];
  }

  toJson(steps: StepSummary[]): object {
    return {
      entries: this.entries,
      unparsed: this.unparsed,
      steps,
      neverMatched: steps.filter((s) => s.kind === 'filter' && s.passes === 0).map((s) => s.step),
      neverReached: steps.filter((s) => s.hits === 0).map((s) => s.step),
      effects: [...this.effects.values()].map((g) => ({ step: g.step, kind: g.kind, count: g.count, texts: g.texts.top().map((t) => ({ text: t.key, count: t.count })) })),
      unhandled: { count: this.unhandledCount, groups: this.unhandled.top().map((g) => ({ pattern: g.key, count: g.count, example: g.example })) },
      samples: { annotated: this.annotated, failed: this.failures.length, failures: this.failures },
    };
  }

  toText(steps: StepSummary[], source: string): string {
    const out: string[] = [];
    out.push(`${source}: ${this.entries} entries${this.unparsed ? `, ${this.unparsed} lines in no known format` : ''}`);
    for (const example of this.unparsedExamples) out.push(`  not read: ${example}`);
    out.push('', 'Steps (reached → passed):');
    let chain = '';
    const width = Math.max(0, ...steps.map((s) => s.step.length)) + 2;
    for (const s of steps) {
      const name = s.step.replace(/\[\d+\]$/, '');
      if (name !== chain) { chain = name; }
      const counts = s.kind === 'filter' ? `${s.hits} → ${s.passes}` : `${s.hits}`;
      out.push(`  ${s.step.padEnd(width)}${s.module.padEnd(24)}${counts}${s.errors ? `  (${s.errors} errors)` : ''}`);
    }
    const never = steps.filter((s) => s.kind === 'filter' && s.passes === 0);
    if (never.length > 0) {
      out.push('', 'Filters that never matched:');
      for (const s of never) out.push(`  ${s.step}  ${s.module}${s.hits === 0 ? '  (never reached)' : ''}`);
    }
    out.push('', this.effects.size === 0 ? 'Actions that would fire: none' : 'Actions that would fire:');
    for (const g of this.effects.values()) {
      out.push(`  ${g.step}  ${g.count}×`);
      const top = g.texts.top(10);
      for (const t of top) out.push(`    ${String(t.count).padStart(5)}× ${t.key}`);
      if (g.texts.size > top.length) out.push(`          … ${g.texts.size - top.length} more distinct`);
    }
    out.push('', `Entries no chain handled: ${this.unhandledCount}${this.unhandledCount ? ` in ${this.unhandled.size} kinds` : ''}`);
    for (const g of this.unhandled.top(15)) out.push(`  ${String(g.count).padStart(5)}× ${g.key}`);
    if (this.unhandled.size > 15) out.push(`        … ${this.unhandled.size - 15} more kinds (--json lists them all)`);
    if (this.annotated > 0) {
      out.push('', this.failures.length === 0
        ? `Samples: ${this.annotated} expectations, all met`
        : `Samples: ${this.failures.length} of ${this.annotated} expectations NOT met (shown above)`);
    }
    return out.join('\n');
  }
}
