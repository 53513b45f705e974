import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressBar } from '../../src/testing/progress.js';

const fakeStream = () => {
  const writes: string[] = [];
  return { writes, stream: { isTTY: true, write: (s: string) => { writes.push(s); return true; } } as unknown as NodeJS.WriteStream };
};

afterEach(() => vi.useRealTimers());

describe('the progress bar of peruse test', () => {
  it('stays silent for a read shorter than two seconds', () => {
    vi.useFakeTimers();
    const { writes, stream } = fakeStream();
    const bar = progressBar(stream, 1000);
    bar.update(10, 500);
    vi.advanceTimersByTime(1500);
    bar.done();
    expect(writes).toEqual([]);
  });

  it('after two seconds shows the share of the file read and the entries, then clears its line', () => {
    vi.useFakeTimers();
    const { writes, stream } = fakeStream();
    const bar = progressBar(stream, 1000);
    bar.update(1234, 500);
    vi.advanceTimersByTime(2200);
    expect(writes.at(-1)).toMatch(/^\r\[#{15}\.{15}\]  50%  1,234 entries, \d[\d,]*\/s\x1b\[K$/);
    bar.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('is off when stderr is not a terminal', () => {
    vi.useFakeTimers();
    const { writes, stream } = fakeStream();
    const bar = progressBar(Object.assign(stream, { isTTY: false }), 1000);
    bar.update(5, 900);
    vi.advanceTimersByTime(5000);
    bar.done();
    expect(writes).toEqual([]);
  });
});
