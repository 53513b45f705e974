import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointFile, resumeFromCheckpoint, saveCheckpoint } from '../../src/state/persist.js';
import { State } from '../../src/state/state.js';
import { memoryLogger } from '../../src/system/log.js';

const S = 1_000_000;

describe('counters and DNAT table across a restart', () => {
  it('a restart neither forgets a half-counted attacker nor keeps what expired meanwhile', () => {
    const storage = mkdtempSync(path.join(tmpdir(), 'peruse-persist-'));
    const before = new State({ storage, persist: true });
    const ssh = before.counters.counter('ssh');
    ssh.raise('1.1.1.1', 0, 600 * S);
    ssh.raise('1.1.1.1', 100 * S, 600 * S);
    ssh.raise('2.2.2.2', 0, 60 * S);
    before.dnat.index(['addr', 'port']);
    before.dnat.capture({ saddr: '12.34.56.78', sport: undefined, addr: '10.0.0.1', port: '43210', daddr: undefined, dport: '22' }, 100 * S, 6);
    before.dnat.capture({ saddr: '99.99.99.99', sport: undefined, addr: '10.0.0.1', port: '1111', daddr: undefined, dport: '22' }, 0, 6);
    saveCheckpoint(before, 's=abc;i=42', 100 * S);

    // the daemon builds its steps (creating the parts), then restores
    const after = new State({ storage, persist: true });
    const index = after.dnat.index(['addr', 'port']);
    after.counters.counter('ssh');
    const checkpoint = resumeFromCheckpoint(after, memoryLogger(), 130 * S);
    expect(checkpoint?.cursor).toBe('s=abc;i=42');
    // third failure after the restart: the ban threshold is reached, not restarted from 1
    expect(after.counters.counter('ssh').raise('1.1.1.1', 130 * S, 600 * S)).toBe(3);
    expect(after.counters.counter('ssh').value('2.2.2.2', 130 * S)).toBe(0);
    expect(index.lookup(index.keyOf({ addr: '10.0.0.1', port: '43210', daddr: undefined, dport: undefined })!, 130 * S)?.saddr).toBe('12.34.56.78');
    expect(after.dnat.size).toBe(1); // the capture at t=0 (64 s buckets) expired at 128 s
  });

  it('nothing is written when the state must not persist (check, dry-run)', () => {
    const storage = mkdtempSync(path.join(tmpdir(), 'peruse-persist-'));
    const state = new State({ storage, persist: false });
    state.counters.counter('ssh').raise('1.1.1.1', 0, undefined);
    saveCheckpoint(state, 'c', 0);
    expect(resumeFromCheckpoint(new State({ storage, persist: true }), memoryLogger(), 0)).toBeUndefined();
  });

  it('when a durable part (a ban store) cannot be written, no checkpoint is saved past its records', () => {
    const storage = mkdtempSync(path.join(tmpdir(), 'peruse-persist-'));
    const state = new State({ storage, persist: true });
    const order: string[] = [];
    let writable = false;
    state.part('bans.test', () => ({
      makeDurable() {
        if (!writable) throw new Error('disk full');
        order.push(existsSync(checkpointFile(storage)) ? 'after the checkpoint' : 'before the checkpoint');
      },
    }));
    expect(() => saveCheckpoint(state, 'c1', 0)).toThrow(/disk full/);
    expect(existsSync(checkpointFile(storage))).toBe(false);
    writable = true;
    saveCheckpoint(state, 'c1', 0);
    expect(order).toEqual(['before the checkpoint']);
    expect(existsSync(checkpointFile(storage))).toBe(true);
  });
});
