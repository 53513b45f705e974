import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CounterStore } from '../../src/state/counters.js';
import { DnatTable } from '../../src/state/dnat.js';
import { compilePattern } from '../../src/text/regex.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap growth while `keep` holds what it was given from 2 000 lines of 40 000 characters each. */
function retainedMegabytes(keep: (address: string, port: string, i: number) => void): number {
  const pattern = compilePattern('^Failed password for \\S+ from (?P<ip>\\S+) port (?P<port>\\d+)');
  expect(pattern.engine).toBe('irregexp');
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2000; i++) {
    const line = `Failed password for root from 2001:db8::${i.toString(16)}:beef port ${10000 + i} ssh2 ${'x'.repeat(40_000)}`;
    const match = pattern.exec(line)!;
    keep(match.groups!.ip!, match.groups!.port!, i);
  }
  gc();
  return (process.memoryUsage().heapUsed - before) / 1e6;
}

describe('what the state keeps from a log line', () => {
  it('a counter key cut from a long line does not keep the line alive', () => {
    const counter = new CounterStore().counter('ssh');
    // 2 000 lines of 40 kB: 80 MB if each key held its line
    expect(retainedMegabytes((ip, _port, i) => counter.raise(ip, i, 600e6))).toBeLessThan(10);
    expect(counter.size).toBe(2000);
  });

  it('a DNAT mapping cut from a long line does not keep the line alive', () => {
    const table = new DnatTable();
    table.index(['addr', 'port']);
    expect(retainedMegabytes((ip, port, i) => table.capture({ saddr: ip, sport: port, addr: ip, port, daddr: undefined, dport: undefined }, i, 6))).toBeLessThan(10);
    expect(table.size).toBe(2000);
  });
});
