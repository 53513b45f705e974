import { describe, expect, it } from 'vitest';
import { build, run } from '../helpers/engine.js';
import { compileWorkflow, type ChainSpec, type StepSpec } from '../../src/workflow/compile.js';

const record = (tag: string) => ({ action: 'action_record', args: { tag } });
const equals = (field: string, value: unknown, extra: object = {}) => ({ filter: 'filter_equals', args: { field, value }, ...extra });

describe('linking large and deep configs', () => {
  it('a chain of 10 000 jumps links without recursion, and an entry follows it to the end', async () => {
    const depth = 10_000;
    const actions: Record<string, object[]> = {};
    for (let i = 0; i < depth; i++) actions[`c${i}`] = i < depth - 1 ? [equals('x', 1, { then: `c${i + 1}` })] : [record('end')];
    actions.after = [record('after')];
    const { program, records, issues, topLevel } = await build({ actions });
    expect(issues).toEqual([]);
    expect(topLevel).toEqual(['c0', 'after']);
    expect(program!.size).toBe(depth + 1);
    await run(program!, { x: 1 });
    await run(program!, { x: 2 });
    expect(records).toEqual(['end', 'after']);
  });

  it('a jump chain with open ends is still laid out once per continuation, depth first', async () => {
    // J falls through: reached from A it continues to B, reached from B it continues to C
    const { program, records } = await build({ actions: {
      A: [equals('x', 1, { then: 'J' })], J: [equals('y', 1), record('J')],
      B: [equals('x', 1, { then: 'J' })], C: [record('C')],
    } });
    // built from the last top-level chain up, each jump target right after the step that jumps
    expect(program!.labels).toEqual(['C[0]', 'B[0]', 'J[0]', 'J[1]', 'A[0]', 'J[0]', 'J[1]']);
    expect(program!.alt[5]).toBe(1); // J reached from A fails on to B
    expect(program!.alt[2]).toBe(0); // J reached from B fails on to C
    await run(program!, { x: 1, y: 2 });
    expect(records).toEqual(['C']);
  });

  it('a chain declared above a caller is warned about once, naming the first caller below it', async () => {
    const { issues } = await build({ actions: {
      Early: [equals('x', 1, { then: 'J' })], J: [record('J')], Late1: [equals('x', 2, { then: 'J' })], Late2: [equals('x', 3, { then: 'J' })],
    } });
    const warnings = issues.filter((i) => i.code === 'W_JUMP_CHAIN_ABOVE');
    expect(warnings).toHaveLength(0); // J is first reached from Early, above it: a plain jump chain
    const above = await build({ actions: {
      J: [record('J')], Late1: [equals('x', 2, { then: 'J' })], Late2: [equals('x', 3, { then: 'J' })],
    } });
    const found = above.issues.filter((i) => i.code === 'W_JUMP_CHAIN_ABOVE');
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toEqual(['actions', 'J']);
    expect(found[0]!.message).toContain('"Late1"');
  });

  it('8 000 chains link as few do: each service chain followed by its ban chain, one warning per ban chain declared above its caller', () => {
    const step = (chain: string, i: number, kind: 'filter' | 'action', then?: string): StepSpec =>
      ({ label: `${chain}[${i}]`, path: ['actions', chain, i], kind, instance: { test: () => true, act: () => undefined } as never, then });
    const chains: ChainSpec[] = [];
    for (let pair = 0; pair < 4000; pair++) {
      const service: ChainSpec = { name: `s${pair}`, path: ['actions', `s${pair}`], steps: [step(`s${pair}`, 0, 'filter'), step(`s${pair}`, 1, 'filter', `b${pair}`)] };
      const ban: ChainSpec = { name: `b${pair}`, path: ['actions', `b${pair}`], steps: [step(`b${pair}`, 0, 'action'), step(`b${pair}`, 1, 'action')] };
      chains.push(...(pair % 10 === 0 ? [ban, service] : [service, ban]));
    }
    const { program, issues, topLevel } = compileWorkflow(chains);
    expect(issues.filter((i) => i.code === 'W_JUMP_CHAIN_ABOVE')).toHaveLength(400);
    expect(topLevel).toHaveLength(4400);
    // each service chain: its two filters, then its ban chain laid out right after (or shared, when declared above)
    const at = program.labels.indexOf('s1[0]');
    expect(program.labels.slice(at, at + 4)).toEqual(['s1[0]', 's1[1]', 'b1[0]', 'b1[1]']);
    expect(program.next[at + 1]).toBe(at + 2);
    expect(program.alt[at + 1]).toBe(program.labels.indexOf('s2[0]'));
    expect(program.size).toBe(16_000);
  });
});
