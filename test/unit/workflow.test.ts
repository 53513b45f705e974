import { describe, expect, it } from 'vitest';
import { build, run, trace } from '../helpers/engine.js';

const record = (tag: string) => ({ action: 'action_record', args: { tag } });
const equals = (field: string, value: unknown, extra: object = {}) => ({ filter: 'filter_equals', args: { field, value }, ...extra });

describe('chain semantics (Pyruse-compatible)', () => {
  it('a step without then goes on to the next step of its chain', async () => {
    const { program, records } = await build({ actions: { A: [equals('x', 1), record('after filter'), record('second action')], B: [record('B')] } });
    await run(program!, { x: 1 });
    expect(records).toEqual(['after filter', 'second action']);
  });

  it('a filter at the end of a chain falls through to the next top-level chain', async () => {
    const { program, records } = await build({ actions: { A: [equals('x', 1)], B: [record('B')] } });
    await run(program!, { x: 1 });
    expect(records).toEqual(['B']);
  });

  it('an action at the end of a chain stops the entry', async () => {
    const { program, records } = await build({ actions: { A: [record('A')], B: [record('B')] } });
    await run(program!, {});
    expect(records).toEqual(['A']);
  });

  it('a failing filter without else falls through to the next top-level chain', async () => {
    const { program, records } = await build({ actions: { A: [equals('x', 1), record('A')], B: [record('B')] } });
    await run(program!, { x: 2 });
    expect(records).toEqual(['B']);
  });

  it('a chain used as a then or else target is skipped as a top-level chain', async () => {
    const { program, records, topLevel } = await build({ actions: {
      A: [equals('x', 1, { then: 'J1', else: 'J2' })], J1: [record('J1')], J2: [record('J2')], Z: [record('Z')] } });
    expect(topLevel).toEqual(['A', 'Z']);
    await run(program!, { x: 1 });
    await run(program!, { x: 2 });
    await run(program!, { x: 3, y: 1 });
    expect(records).toEqual(['J1', 'J2', 'J2']);
  });

  it('a jump chain with open ends falls through to the chain after the caller, for each caller', async () => {
    const { program, records } = await build({ actions: {
      A: [equals('x', 1, { then: 'Shared' })],
      B: [record('B')],
      C: [equals('x', 2, { then: 'Shared' })],
      D: [record('D')],
      Shared: [equals('y', 1), record('shared')],
    } });
    await run(program!, { x: 1, y: 0 }); // Shared fails → continues after A, i.e. B
    await run(program!, { x: 2, y: 0 }); // A fails → B stops. (B is an action)
    expect(records).toEqual(['B', 'B']);
    const traced = await trace(program!, { x: 1, y: 0 });
    expect(traced).toEqual(['A[0]:true', 'Shared[0]:false', 'B[0]:done']);
  });

  it('duplicated sub-chain steps share their module instance', async () => {
    const { program } = await build({ actions: {
      A: [equals('x', 1, { then: 'S' })], B: [equals('x', 2, { then: 'S' })], C: [record('C')], S: [equals('y', 1)],
    } });
    const sIndexes = program!.labels.map((l, i) => [l, i] as const).filter(([l]) => l === 'S[0]').map(([, i]) => i);
    expect(sIndexes.length).toBe(2);
    expect(program!.filters[sIndexes[0]!]).toBe(program!.filters[sIndexes[1]!]);
  });

  it('a loop of jumps is a config error that shows the cycle', async () => {
    const { issues, program } = await build({ actions: { A: [equals('x', 1, { then: 'B' })], B: [equals('x', 1, { then: 'C' })], C: [equals('x', 1, { then: 'B' })] } });
    expect(program).toBeUndefined();
    const loop = issues.find((i) => i.code === 'E_LOOP');
    expect(loop?.message).toContain('"B" → "C" → "B"');
  });

  it('a jump to an unknown chain is a config error naming a close match', async () => {
    const { issues } = await build({ actions: { A: [equals('x', 1, { then: 'Reportt' })], Report: [record('r')] } });
    expect(issues.map((i) => [i.code, i.message])).toContainEqual(['E_UNKNOWN_CHAIN', 'no chain named "Reportt", did you mean "Report"?']);
  });

  it('steps after an explicit then are a config error', async () => {
    const { issues } = await build({ actions: { A: [equals('x', 1, { then: 'B' }), record('dead')], B: [record('B')] } });
    expect(issues.map((i) => i.code)).toEqual(['E_UNREACHABLE_STEP']);
  });

  it('a throwing filter takes its else branch and the error is logged and counted', async () => {
    const { program, records } = await build({ actions: { A: [{ filter: 'filter_throw', args: {}, else: 'E' }, record('then')], E: [record('else')] } });
    const log = await run(program!, {});
    expect(records).toEqual(['else']);
    expect(log.lines.join('\n')).toContain('A[0]: filter failed (1 so far): filter boom');
    expect(program!.errors[program!.labels.indexOf('A[0]')]).toBe(1);
  });

  it('a throwing action stops the entry and the error is logged and counted', async () => {
    const { program, records } = await build({ actions: { A: [{ action: 'action_throw' , then: 'B'}], B: [record('B')] } });
    const log = await run(program!, {});
    expect(records).toEqual([]);
    expect(log.lines.join('\n')).toContain('A[0]: action failed (1 so far): action boom');
  });

  it('chain names that look like integers keep their config order', async () => {
    const text = '{"actions": {"b": [{"filter": "filter_equals", "args": {"field": "x", "value": 1}}], "10": [{"action": "action_record", "args": {"tag": "10"}}], "2": [{"action": "action_record", "args": {"tag": "2"}}]}}';
    const { program, records, topLevel } = await build(text);
    expect(topLevel).toEqual(['b', '10', '2']);
    await run(program!, {});
    expect(records).toEqual(['10']);
  });

  it('a chain declared above its first caller stays top-level, with a warning (Pyruse order semantics)', async () => {
    const { program, records, issues, topLevel } = await build({ actions: { J: [record('J')], A: [equals('x', 1, { then: 'J' })], Z: [record('Z')] } });
    expect(topLevel).toEqual(['J', 'A', 'Z']);
    expect(issues.map((i) => i.code)).toEqual(['W_JUMP_CHAIN_ABOVE']);
    await run(program!, {});
    expect(records).toEqual(['J']);
  });

  it('an async action pauses the walk and the next step runs after it settles', async () => {
    const { program, records } = await build({ actions: { A: [equals('x', 1), record('one'), record('two')] } });
    // replace the first record action with a slow one, keeping the links
    const index = program!.labels.indexOf('A[1]');
    const order = records;
    program!.actions[index] = { act: () => new Promise<void>((r) => setTimeout(() => { order.push('slow'); r(); }, 20)) };
    const pending = (await import('../../src/workflow/run.js')).createProcessor(program!, (await import('../../src/system/log.js')).memoryLogger())({ x: 1 });
    expect(pending).toBeInstanceOf(Promise);
    order.push('returned');
    await pending;
    expect(order).toEqual(['returned', 'slow', 'two']);
  });
});
