import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipsetBackend, nftBackend } from '../../src/net/ban-commands.js';
import { BanQueue, type BanQueueOptions } from '../../src/net/ban-queue.js';
import type { CommandResult, CommandRunner } from '../../src/system/exec.js';
import { describingRunner } from '../../src/system/exec.js';
import { memoryLogger } from '../../src/system/log.js';

const SET = 'ip Inet4 ssh_ban';

/** A runner whose commands finish when the test says so. */
function manualRunner() {
  const pending: { argv: string[]; stdin?: string | Buffer; finish: (r: CommandResult) => void }[] = [];
  const runner: CommandRunner = {
    run: (argv, options) => new Promise((finish) => pending.push({ argv: [...argv], stdin: options?.stdin, finish })),
  };
  return { runner, pending };
}
const ok: CommandResult = { code: 0, stdout: '', stderr: '' };
const tick = () => new Promise((r) => setImmediate(r));
const nftQueue = (runner: CommandRunner, options: BanQueueOptions = {}, log = memoryLogger()) => new BanQueue(nftBackend, ['nft'], runner, log, options);
const ban = (ip: string, seconds = 600, replace = false) => ({ set: SET, ip, seconds, replace });

describe('ban command queue', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('on a quiet system, a ban runs at once as Pyruse runs it: the delete, then the add', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner);
    queue.submit(ban('1.2.3.4', 600, true));
    expect(pending.map((p) => p.argv)).toEqual([['nft', `delete element ${SET} {1.2.3.4}`]]);
    pending[0]!.finish({ code: 1, stdout: '', stderr: 'element does not exist' });
    await tick();
    expect(pending.map((p) => p.argv)).toEqual([['nft', `delete element ${SET} {1.2.3.4}`], ['nft', `add element ${SET} {1.2.3.4 timeout 600s}`]]);
  });

  it('a command killed at its deadline gets the configured deadline, is logged as an error even for a delete, and its bans are retried', async () => {
    const { runner, pending } = manualRunner();
    const deadlines: (number | undefined)[] = [];
    const timing: CommandRunner = { run: (argv, options) => { deadlines.push(options?.timeoutMs); return runner.run(argv, options); } };
    const log = memoryLogger();
    const queue = nftQueue(timing, { commandTimeoutMs: 1500, retryDelaysMs: [10] }, log);
    const hung: CommandResult = { code: 124, stdout: '', stderr: 'still running after 1.5 s: its process group was killed', timedOut: true };
    queue.submit(ban('10.0.0.1', 600, true));
    pending[0]!.finish(hung); // the delete
    await tick();
    pending[1]!.finish(hung); // the add
    await tick();
    expect(log.lines.filter((l) => l.includes('its process group was killed'))).toHaveLength(2);
    expect(log.lines.every((l) => !l.includes('process group') || l.includes('error'))).toBe(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(pending[2]!.argv).toEqual(['nft', `add element ${SET} {10.0.0.1 timeout 600s}`]);
    pending[2]!.finish(ok);
    await queue.drain();
    expect(deadlines).toEqual([1500, 1500, 1500]);
    expect(queue.givenUp).toBe(0);
  });

  it('an unban (a LAPI decision deleted) drops the add still waiting and deletes the element, merged with the other deletes', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.2'));
    queue.submit(ban('10.0.0.3'));
    queue.unban(SET, '10.0.0.2');
    queue.unban(SET, '10.0.0.9');
    pending[0]!.finish(ok);
    await tick();
    expect(pending.slice(1).map((p) => p.argv)).toEqual([['nft', `delete element ${SET} {10.0.0.2, 10.0.0.9}`]]);
    pending[1]!.finish(ok);
    await tick();
    expect(pending.slice(2).map((p) => p.argv)).toEqual([['nft', `add element ${SET} {10.0.0.3 timeout 600s}`]]);
  });

  it('bans that arrive while nft runs are merged into one delete and one add, still one argument each', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.2', 600, true));
    queue.submit({ ...ban('10.0.0.3'), seconds: undefined });
    queue.submit(ban('10.0.0.4', 300, true));
    expect(pending).toHaveLength(1);
    pending[0]!.finish(ok);
    await tick();
    expect(pending[1]!.argv).toEqual(['nft', `delete element ${SET} {10.0.0.2, 10.0.0.4}`]);
    pending[1]!.finish(ok);
    await tick();
    expect(pending[2]!.argv).toEqual(['nft', `add element ${SET} {10.0.0.2 timeout 600s, 10.0.0.3, 10.0.0.4 timeout 300s}`]);
    pending[2]!.finish(ok);
    await queue.drain();
    expect(queue.commandsRun).toBe(3);
  });

  it('a later ban of an address still waiting only changes its timeout: no delete of an element not yet added', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.9', 60));
    queue.submit(ban('10.0.0.9', 900, true));
    pending[0]!.finish(ok);
    await tick();
    expect(pending[1]!.argv).toEqual(['nft', `add element ${SET} {10.0.0.9 timeout 900s}`]);
  });

  it('never puts more than maxBatch elements in one command', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = { async run(argv) { calls.push([...argv]); return ok; } };
    const queue = nftQueue(runner, { maxBatch: 2 });
    for (let i = 1; i <= 6; i++) queue.submit(ban(`10.0.0.${i}`));
    await queue.drain();
    expect(calls.map((c) => c[1])).toEqual([
      `add element ${SET} {10.0.0.1 timeout 600s}`,
      `add element ${SET} {10.0.0.2 timeout 600s, 10.0.0.3 timeout 600s}`,
      `add element ${SET} {10.0.0.4 timeout 600s, 10.0.0.5 timeout 600s}`,
      `add element ${SET} {10.0.0.6 timeout 600s}`,
    ]);
  });

  it('a merged delete that fails (one element timed out) is redone one address at a time', async () => {
    const calls: string[] = [];
    const runner: CommandRunner = {
      async run(argv) { calls.push(argv[1]!); return argv[1]!.includes('10.0.0.3}') || argv[1]!.includes(', 10.0.0.3') ? { code: 1, stdout: '', stderr: 'No such file' } : ok; },
    };
    const queue = nftQueue(runner);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.2', 600, true));
    queue.submit(ban('10.0.0.3', 600, true));
    await queue.drain();
    expect(calls).toEqual([
      `add element ${SET} {10.0.0.1 timeout 600s}`,
      `delete element ${SET} {10.0.0.2, 10.0.0.3}`,
      `delete element ${SET} {10.0.0.2}`,
      `delete element ${SET} {10.0.0.3}`,
      `add element ${SET} {10.0.0.2 timeout 600s, 10.0.0.3 timeout 600s}`,
    ]);
  });

  it('asks the caller to wait once maxPending bans are waiting, and lets it go when they are taken (back-pressure)', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner, { maxPending: 2 });
    expect(queue.submit(ban('10.0.0.1'))).toBeUndefined(); // runs at once
    expect(queue.submit(ban('10.0.0.2'))).toBeUndefined();
    const wait = queue.submit(ban('10.0.0.3'));
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait!.then(() => { released = true; });
    await tick();
    expect(released).toBe(false);
    pending[0]!.finish(ok);
    await tick();
    expect(released).toBe(true);
  });

  it('drain waits for every queued command', async () => {
    const { runner, pending } = manualRunner();
    const queue = nftQueue(runner);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.2'));
    let drained = false;
    const done = queue.drain().then(() => { drained = true; });
    pending[0]!.finish(ok);
    await tick();
    expect(drained).toBe(false);
    pending[1]!.finish(ok);
    await done;
    expect(drained).toBe(true);
  });

  it('drops a pending retry when a newer ban of the same address comes', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    let fail = true;
    const runner: CommandRunner = { async run(argv) { calls.push(argv[1]!); return fail ? { code: 1, stdout: '', stderr: 'busy' } : ok; } };
    const queue = nftQueue(runner, { retryDelaysMs: [1000] });
    queue.submit(ban('10.0.0.1', 60));
    await vi.advanceTimersByTimeAsync(0);
    fail = false;
    queue.submit(ban('10.0.0.1', 900));
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual([`add element ${SET} {10.0.0.1 timeout 60s}`, `add element ${SET} {10.0.0.1 timeout 900s}`]);
  });

  it('retries a failed merged add with all its elements, and gives up after the last delay', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    const log = memoryLogger();
    const runner: CommandRunner = { async run(argv) { calls.push(argv[1]!); return argv[1]!.includes('10.0.0.1 ') ? ok : { code: 1, stdout: '', stderr: 'Error: Could not process rule' }; } };
    const queue = nftQueue(runner, { retryDelaysMs: [100, 200] }, log);
    queue.submit(ban('10.0.0.1'));
    queue.submit(ban('10.0.0.2'));
    queue.submit(ban('10.0.0.3'));
    await vi.advanceTimersByTimeAsync(1000);
    await queue.drain();
    const merged = `add element ${SET} {10.0.0.2 timeout 600s, 10.0.0.3 timeout 600s}`;
    expect(calls).toEqual([`add element ${SET} {10.0.0.1 timeout 600s}`, merged, merged, merged]);
    expect(queue.givenUp).toBe(2);
    expect(log.lines.filter((l) => l.includes('gave up'))).toHaveLength(2);
    expect(log.lines.some((l) => l.includes('Could not process rule'))).toBe(true);
  });

  it('does not retry a delete (deleting an element that timed out is expected to fail)', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    const runner: CommandRunner = { async run(argv) { calls.push(argv[1]!); return argv[1]!.startsWith('delete') ? { code: 1, stdout: '', stderr: 'gone' } : ok; } };
    const queue = nftQueue(runner, { retryDelaysMs: [10] });
    queue.submit(ban('10.0.0.1', 600, true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([`delete element ${SET} {10.0.0.1}`, `add element ${SET} {10.0.0.1 timeout 600s}`]);
  });

  it('treats a runner that throws as a failed command: logged and retried, never an unhandled rejection', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const runner: CommandRunner = { async run() { calls++; if (calls === 1) throw new Error('spawn EAGAIN'); return ok; } };
    const log = memoryLogger();
    const queue = nftQueue(runner, { retryDelaysMs: [100] }, log);
    queue.submit(ban('10.0.0.1'));
    await vi.advanceTimersByTimeAsync(200);
    await queue.drain();
    expect(calls).toBe(2);
    expect(log.lines.some((l) => l.includes('spawn EAGAIN'))).toBe(true);
    expect(queue.givenUp).toBe(0);
  });

  it('ipset: one ban is argv + add SET IP timeout N; merged bans go through one ipset restore', async () => {
    const { runner, pending } = manualRunner();
    const queue = new BanQueue(ipsetBackend, ['ipset', '-exist', '-quiet'], runner, memoryLogger());
    queue.submit({ set: 'ban4', ip: '10.0.0.1', seconds: 60, replace: false });
    queue.submit({ set: 'ban4', ip: '10.0.0.2', seconds: 60, replace: true });
    queue.submit({ set: 'ban4', ip: '10.0.0.3', seconds: undefined, replace: true });
    expect(pending[0]!.argv).toEqual(['ipset', '-exist', '-quiet', 'add', 'ban4', '10.0.0.1', 'timeout', '60']);
    pending[0]!.finish(ok);
    await tick();
    expect(pending[1]!.argv).toEqual(['ipset', '-exist', '-quiet', 'restore']);
    expect(pending[1]!.stdin).toBe('del ban4 10.0.0.2\ndel ban4 10.0.0.3\n');
    pending[1]!.finish(ok);
    await tick();
    expect(pending[2]!.argv).toEqual(['ipset', '-exist', '-quiet', 'restore']);
    expect(pending[2]!.stdin).toBe('add ban4 10.0.0.2 timeout 60\nadd ban4 10.0.0.3\n');
  });

  it('in a dry-run every ban is described at once, while its own entry is processed, never merged', () => {
    const described: string[] = [];
    const queue = nftQueue(describingRunner((argv) => described.push(argv[1]!)));
    queue.submit(ban('10.0.0.1'));
    expect(described).toEqual([`add element ${SET} {10.0.0.1 timeout 600s}`]);
    queue.submit(ban('10.0.0.2', 600, true));
    expect(described).toEqual([`add element ${SET} {10.0.0.1 timeout 600s}`, `delete element ${SET} {10.0.0.2}`, `add element ${SET} {10.0.0.2 timeout 600s}`]);
  });
});
