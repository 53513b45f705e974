import { afterEach, describe, expect, it, vi } from 'vitest';
import { BanQueue } from '../../src/net/ban-queue.js';
import type { CommandResult, CommandRunner } from '../../src/system/exec.js';
import { memoryLogger } from '../../src/system/log.js';

/** A runner whose commands finish when the test says so. */
function manualRunner() {
  const pending: { argv: string[]; finish: (r: CommandResult) => void }[] = [];
  const runner: CommandRunner = {
    run: (argv) => new Promise((finish) => pending.push({ argv: [...argv], finish })),
  };
  return { runner, pending };
}
const ok: CommandResult = { code: 0, stdout: '', stderr: '' };
const tick = () => new Promise((r) => setImmediate(r));

describe('ban command queue', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('runs the commands of one address in order: the add waits for the delete', async () => {
    const { runner, pending } = manualRunner();
    const queue = new BanQueue(runner, memoryLogger());
    queue.submit('s 1.2.3.4', [{ argv: ['delete'], mayFail: true }, { argv: ['add'] }]);
    await tick();
    expect(pending.map((p) => p.argv)).toEqual([['delete']]);
    pending[0]!.finish({ code: 1, stdout: '', stderr: 'element does not exist' });
    await tick();
    expect(pending.map((p) => p.argv)).toEqual([['delete'], ['add']]);
  });

  it('runs different addresses side by side and asks the caller to wait only at the limit (back-pressure)', async () => {
    const { runner, pending } = manualRunner();
    const queue = new BanQueue(runner, memoryLogger(), { maxInFlight: 3 });
    expect(queue.submit('a', [{ argv: ['a'] }])).toBeUndefined();
    expect(queue.submit('b', [{ argv: ['b'] }])).toBeUndefined();
    const wait = queue.submit('c', [{ argv: ['c'] }]);
    expect(wait).toBeInstanceOf(Promise);
    await tick();
    expect(pending).toHaveLength(3);
    let released = false;
    void wait!.then(() => { released = true; });
    await tick();
    expect(released).toBe(false);
    pending[0]!.finish(ok);
    await tick();
    expect(released).toBe(true);
  });

  it('drain waits for every running command', async () => {
    const { runner, pending } = manualRunner();
    const queue = new BanQueue(runner, memoryLogger());
    queue.submit('a', [{ argv: ['a'] }]);
    let drained = false;
    const done = queue.drain().then(() => { drained = true; });
    await tick();
    expect(drained).toBe(false);
    pending[0]!.finish(ok);
    await done;
    expect(drained).toBe(true);
  });

  it('drops a pending retry when a newer ban of the same address comes', async () => {
    vi.useFakeTimers();
    const calls: string[][] = [];
    let fail = true;
    const runner: CommandRunner = { async run(argv) { calls.push([...argv]); return fail ? { code: 1, stdout: '', stderr: 'busy' } : ok; } };
    const queue = new BanQueue(runner, memoryLogger(), { retryDelaysMs: [1000] });
    queue.submit('k', [{ argv: ['add', 'old'] }]);
    await vi.advanceTimersByTimeAsync(0);
    fail = false;
    queue.submit('k', [{ argv: ['add', 'new'] }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual([['add', 'old'], ['add', 'new']]);
  });

  it('does not retry a command allowed to fail (deleting an element that timed out)', async () => {
    vi.useFakeTimers();
    const calls: string[][] = [];
    const runner: CommandRunner = { async run(argv) { calls.push([...argv]); return argv[0] === 'delete' ? { code: 1, stdout: '', stderr: 'gone' } : ok; } };
    const queue = new BanQueue(runner, memoryLogger(), { retryDelaysMs: [10] });
    queue.submit('k', [{ argv: ['delete'], mayFail: true }, { argv: ['add'] }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([['delete'], ['add']]);
  });

  it('treats a runner that throws as a failed command: logged and retried, never an unhandled rejection', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const runner: CommandRunner = { async run() { calls++; if (calls === 1) throw new Error('spawn EAGAIN'); return ok; } };
    const log = memoryLogger();
    const queue = new BanQueue(runner, log, { retryDelaysMs: [100] });
    queue.submit('k', [{ argv: ['add'] }]);
    await vi.advanceTimersByTimeAsync(200);
    await queue.drain();
    expect(calls).toBe(2);
    expect(log.lines.some((l) => l.includes('spawn EAGAIN'))).toBe(true);
  });
});
