import { describe, expect, it } from 'vitest';
import { Counter, CounterStore } from '../../src/state/counters.js';
import { build, run } from '../helpers/engine.js';

const S = 1_000_000; // µs per second

describe('counters', () => {
  it('counts raises per key, independently for each key', () => {
    const c = new Counter(() => 100);
    expect(c.raise('1.2.3.4', 0, undefined)).toBe(1);
    expect(c.raise('1.2.3.4', 1 * S, undefined)).toBe(2);
    expect(c.raise('5.6.7.8', 2 * S, undefined)).toBe(1);
  });

  it('forgets a raise once its keepSeconds have passed in event time', () => {
    const c = new Counter(() => 100);
    c.raise('ip', 0, 600 * S);
    c.raise('ip', 100 * S, 600 * S);
    expect(c.raise('ip', 599 * S, 600 * S)).toBe(3);
    // the first raise (t=0) expires at 600 s, the second at 700 s
    expect(c.raise('ip', 650 * S, 600 * S)).toBe(3);
    expect(c.value('ip', 701 * S)).toBe(2);
  });

  it('drops a key whose raises all expired without the key being touched again', () => {
    const c = new Counter(() => 100);
    for (let i = 0; i < 50; i++) c.raise(`attacker${i}`, i * 100_000, 10 * S);
    expect(c.size).toBe(50);
    c.raise('late', 1000 * S, 10 * S);
    expect(c.size).toBe(1);
  });

  it('keeps the count at 0 during the grace of a reset, then counts again', () => {
    const c = new Counter(() => 100);
    c.raise('ip', 0, undefined);
    expect(c.reset('ip', 10 * S, 900 * S)).toBe(0);
    expect(c.raise('ip', 20 * S, undefined)).toBe(0);
    expect(c.raise('ip', 909 * S, undefined)).toBe(0);
    expect(c.raise('ip', 910 * S, undefined)).toBe(1);
  });

  it('a reset without grace lets the very next raise count from 1', () => {
    const c = new Counter(() => 100);
    c.raise('ip', 0, undefined);
    c.raise('ip', 1, undefined);
    c.reset('ip', 2, undefined);
    expect(c.size).toBe(0);
    expect(c.raise('ip', 3, undefined)).toBe(1);
  });

  it('evicts the least recently touched key when the cap is reached', () => {
    const c = new Counter(() => 3);
    c.raise('a', 0, undefined);
    c.raise('b', 1, undefined);
    c.raise('c', 2, undefined);
    c.raise('a', 3, undefined); // a is now the most recent
    c.raise('d', 4, undefined); // evicts b
    expect(c.size).toBe(3);
    expect(c.value('b', 5)).toBe(0);
    expect(c.value('a', 5)).toBe(2);
  });

  it('stays bounded under a flood of distinct keys, keeping the newest ones counted', () => {
    const c = new Counter(() => 10_000);
    for (let i = 0; i < 300_000; i++) c.raise(`k${i}`, i * 1000, 60 * S);
    expect(c.size).toBeLessThanOrEqual(10_000);
    expect(c.value('k299999', 300_000 * 1000)).toBe(1);
    expect(c.value('k0', 300_000 * 1000)).toBe(0);
    // the cost per raise whatever the number of keys: `npm run bench`, rows state.*
  });

  it('the key 5 (number) and "5" (text) are two keys, as in Python, and keep their type across a snapshot', () => {
    const store = new CounterStore();
    const c = store.counter('n');
    expect(c.raise(5, 0, undefined)).toBe(1);
    expect(c.raise('5', 0, undefined)).toBe(1);
    expect(c.raise(5, 0, undefined)).toBe(2);
    expect(c.raise(null, 0, undefined)).toBe(1);
    const restored = new CounterStore();
    restored.restore(JSON.parse(JSON.stringify(store.snapshot())), 1 * S);
    const r = restored.counter('n');
    expect([r.value(5, S), r.value('5', S), r.value(null, S), r.value('None', S)]).toEqual([2, 1, 1, 0]);
  });

  it('restores a snapshot without the raises that expired meanwhile', () => {
    const store = new CounterStore();
    store.counter('ssh').raise('ip', 0, 600 * S);
    store.counter('ssh').raise('ip', 500 * S, 600 * S);
    store.counter('forever').raise('ip', 0, undefined);
    const saved = JSON.parse(JSON.stringify(store.snapshot()));
    const restored = new CounterStore();
    restored.restore(saved, 700 * S);
    expect(restored.counter('ssh').value('ip', 700 * S)).toBe(1);
    expect(restored.counter('forever').value('ip', 700 * S)).toBe(1);
    expect(restored.counter('ssh').raise('ip', 800 * S, 600 * S)).toBe(2);
  });
});

describe('action_counterRaise and action_counterReset', () => {
  const config = {
    actions: {
      Raise: [
        { filter: 'filter_equals', args: { field: 'what', value: 'fail' } },
        { action: 'action_counterRaise', args: { counter: 'ssh', for: 'ip', keepSeconds: 600, save: 'fails' } },
      ],
      Reset: [
        { filter: 'filter_equals', args: { field: 'what', value: 'ok' } },
        { action: 'action_counterReset', args: { counter: 'ssh', for: 'ip', graceSeconds: 60, save: 'fails' } },
      ],
    },
  };
  const entry = (what: string, ip: string, seconds: number) => ({ what, ip, __REALTIME_TIMESTAMP: seconds * S }) as Record<string, unknown>;

  it('save stores the raised value, and 0 after a reset, using the entry time', async () => {
    const { program, issues } = await build(config);
    expect(issues).toEqual([]);
    const e1 = entry('fail', '9.9.9.9', 0), e2 = entry('fail', '9.9.9.9', 10), e3 = entry('ok', '9.9.9.9', 20), e4 = entry('fail', '9.9.9.9', 30);
    const e5 = entry('fail', '9.9.9.9', 81), e6 = entry('fail', '9.9.9.9', 1000);
    for (const e of [e1, e2, e3, e4, e5, e6]) await run(program!, e);
    expect([e1.fails, e2.fails, e3.fails, e4.fails, e5.fails, e6.fails]).toEqual([1, 2, 0, 0, 1, 1]);
  });

  it('limits.counterKeys caps the keys of a counter', async () => {
    const { program } = await build({ ...config, limits: { counterKeys: 2 } });
    for (const ip of ['a', 'b', 'c']) await run(program!, entry('fail', ip, 1));
    const e = entry('fail', 'a', 2);
    await run(program!, e);
    expect(e.fails).toBe(1); // "a" was evicted as the oldest key
  });

  it('a key field holding 5 and one holding "5" raise two counts', async () => {
    const { program } = await build(config);
    const n1 = { what: 'fail', ip: 5, __REALTIME_TIMESTAMP: 0 } as Record<string, unknown>;
    const t1 = { what: 'fail', ip: '5', __REALTIME_TIMESTAMP: 0 } as Record<string, unknown>;
    const n2 = { what: 'fail', ip: 5, __REALTIME_TIMESTAMP: 0 } as Record<string, unknown>;
    for (const e of [n1, t1, n2]) await run(program!, e);
    expect([n1.fails, t1.fails, n2.fails]).toEqual([1, 1, 2]);
  });

  it('a key field holding None (a group that did not take part) is counted under None, not an error', async () => {
    const { program } = await build({ actions: { Raise: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^fail(?: from (?P<ip>\\S+))?$' } },
      { action: 'action_counterRaise', args: { counter: 'ssh', for: 'ip', save: 'fails' } },
    ] } });
    const a: Record<string, unknown> = { MESSAGE: 'fail' }, b: Record<string, unknown> = { MESSAGE: 'fail' };
    const c: Record<string, unknown> = { MESSAGE: 'fail from None' };
    for (const e of [a, b, c]) await run(program!, e);
    expect([a.ip, a.fails, b.fails, c.fails]).toEqual([null, 1, 2, 1]);
  });

  it('a missing key field is counted under None with the None key, and the entry goes on', async () => {
    const { program } = await build({ actions: { Raise: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^fail(?: from (?P<ip>\\S+))?$' } },
      { action: 'action_counterRaise', args: { counter: 'ssh', for: 'host', save: 'fails' } },
      { action: 'action_setField', args: { field: 'after', value: 'reached' } },
    ], Reset: [
      { filter: 'filter_equals', args: { field: 'MESSAGE', value: 'ok' } },
      { action: 'action_counterReset', args: { counter: 'ssh', for: 'host', save: 'fails' } },
    ] } });
    const missing = [{ MESSAGE: 'fail' }, { MESSAGE: 'fail' }] as Record<string, unknown>[];
    for (const e of missing) await run(program!, e);
    expect(missing.map((e) => [e.fails, e.after])).toEqual([[1, 'reached'], [2, 'reached']]);
    // None held in the field is the same key as a missing field
    const none: Record<string, unknown> = { MESSAGE: 'fail', host: null };
    await run(program!, none);
    expect(none.fails).toBe(3);
    await run(program!, { MESSAGE: 'ok' });
    const again: Record<string, unknown> = { MESSAGE: 'fail' };
    await run(program!, again);
    expect(again.fails).toBe(1);
  });
});
