import { describe, expect, it } from 'vitest';
import { compareCursorPoints, parseCursorPoint, SkipThrough } from '../../src/journal/hand-over.js';

const W1 = 'cfa6edd819d4408ab4621a7eecd07459', W2 = '21f90fa6aa4f443fba116598111bf4d2';
const B1 = 'bc3919b7e3cba074e4cb40c3417f31d5', B2 = '11b84e0bf48dd9fb814824c215ca614f';
const cursor = (s: string, i: number, b: string, m: number, t: number, x = 'ab') => `s=${s};i=${i.toString(16)};b=${b};m=${m.toString(16)};t=${t.toString(16)};x=${x}`;
const order = (a: string, b: string) => compareCursorPoints(parseCursorPoint(a)!, parseCursorPoint(b)!);

describe('cursor order for the hand-over', () => {
  it('orders one writer by seqnum, whatever the clocks say', () => {
    expect(order(cursor(W1, 5, B1, 900, 900), cursor(W1, 6, B2, 100, 100))).toBe(-1);
    expect(order(cursor(W1, 7, B1, 1, 1), cursor(W1, 6, B1, 2, 2))).toBe(1);
  });

  it('orders two writers by monotonic time within a boot, else by realtime', () => {
    expect(order(cursor(W1, 9, B1, 100, 900), cursor(W2, 1, B1, 200, 100))).toBe(-1);
    expect(order(cursor(W1, 9, B1, 100, 900), cursor(W2, 1, B2, 200, 100))).toBe(1);
  });

  it('refuses a cursor without seqnum or times', () => {
    expect(parseCursorPoint('s=abc;b=def')).toBeUndefined();
    expect(parseCursorPoint('garbage')).toBeUndefined();
  });

  it('skips entries up to the cursor, then lets every later one through, even an older one of another writer', () => {
    const skip = new SkipThrough(cursor(W1, 10, B1, 1000, 1000));
    expect(skip.passes(cursor(W1, 3, B1, 300, 300))).toBe(false);
    expect(skip.passes(cursor(W1, 10, B1, 1000, 1000))).toBe(false);
    expect(skip.passes(cursor(W1, 11, B1, 1100, 1100))).toBe(true);
    expect(skip.passes(cursor(W2, 1, B2, 5, 5))).toBe(true);
    expect(skip.skipped).toBe(2);
  });
});
