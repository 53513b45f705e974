import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { killRunningCommands, spawnRunner, TIMED_OUT_CODE } from '../../src/system/exec.js';
import { alive, endAfterAll, sleep } from '../helpers/processes.js';

// Real processes: a command that ignores SIGTERM and leaves a child holding its stdout.
const dir = endAfterAll().tempDir('peruse-exec-');

/** Writes its own pid and its background child's pid to $1, then (unless $2 = exit) waits for ever, deaf to SIGTERM. */
const HANGING = path.join(dir, 'hanging.sh');
writeFileSync(HANGING, `#!/bin/bash
trap '' TERM
sleep 600 &
echo "$$ $!" > "$1"
[ "$2" = exit ] && exit 0
while :; do sleep 1; done
`, { mode: 0o755 });

async function pidsOf(file: string): Promise<number[]> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(20);
  return readFileSync(file, 'utf8').trim().split(' ').map(Number);
}

async function allGone(pids: number[]): Promise<boolean> {
  for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(20);
  return !pids.some(alive);
}

describe('spawnRunner deadlines', () => {
  it('when a command ignores SIGTERM and its child holds stdout, its whole group is killed at the deadline and the result says so', async () => {
    const pidFile = path.join(dir, 'deaf.pids');
    const started = Date.now();
    const result = await spawnRunner.run([HANGING, pidFile], { timeoutMs: 700 });
    const took = Date.now() - started;
    expect(result.code).toBe(TIMED_OUT_CODE);
    expect(result.timedOut).toBe(true);
    expect(result.stderr).toMatch(/still running after 0\.7 s: its process group was killed/);
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(5000);
    const pids = await pidsOf(pidFile);
    expect(pids).toHaveLength(2);
    expect(await allGone(pids)).toBe(true);
  });

  it('when a command exits but leaves a child holding stdout, its exit code stands and the child is killed soon after', async () => {
    const pidFile = path.join(dir, 'leaver.pids');
    const started = Date.now();
    const result = await spawnRunner.run([HANGING, pidFile, 'exit'], { timeoutMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/a process it started still held its output/);
    expect(await allGone(await pidsOf(pidFile))).toBe(true);
  });

  it('killRunningCommands kills a command that would run until its deadline, with everything it started', async () => {
    const pidFile = path.join(dir, 'stopped.pids');
    const pending = spawnRunner.run([HANGING, pidFile], { timeoutMs: 60_000 });
    const pids = await pidsOf(pidFile);
    expect(pids.every(alive)).toBe(true);
    expect(killRunningCommands()).toBe(1);
    const result = await Promise.race([pending, sleep(5000).then(() => undefined)]);
    expect(result).toBeDefined();
    expect(result!.code).not.toBe(0);
    expect(await allGone(pids)).toBe(true);
    expect(killRunningCommands()).toBe(0);
  });

  it('a quick command still returns its output and exit code', async () => {
    const result = await spawnRunner.run(['/bin/sh', '-c', 'cat; echo err >&2; exit 3'], { stdin: 'in' });
    expect(result).toEqual({ code: 3, stdout: 'in', stderr: 'err\n' });
  });
});
