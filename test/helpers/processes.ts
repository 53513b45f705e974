// What the tests that start real processes share: waiting, telling a process alive, ending what they started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { createNetNs, type NetNs } from '../integration/netns.js';
import { PERUSE_BIN } from './cli.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** In the process table and not a zombie (a killed child not yet reaped is dead). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A `peruse run` started by a test: its stderr so far, and its exit code once it exits. */
export interface Daemon {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

/** What a test file starts and must not leave behind: push onto these, or start it through the methods. */
export interface Leftovers {
  readonly children: ChildProcess[];
  readonly namespaces: NetNs[];
  readonly dirs: string[];
  /** A new directory under the system temp dir, its name starting with `prefix`. */
  tempDir(prefix: string): string;
  /** A new network namespace (createNetNs). */
  netns(tag: string): NetNs;
  /** `peruse run --config CONFIG` in `cwd`. */
  startDaemon(config: string, cwd: string): Daemon;
}

/**
 * Registers an afterAll (call it at the top of a test file) that kills the children still running,
 * deletes the network namespaces and removes the directories, even when a test failed midway.
 */
export function endAfterAll(): Leftovers {
  const left: Leftovers = {
    children: [],
    namespaces: [],
    dirs: [],
    tempDir(prefix) {
      const dir = mkdtempSync(path.join(tmpdir(), prefix));
      left.dirs.push(dir);
      return dir;
    },
    netns(tag) {
      const ns = createNetNs(tag);
      left.namespaces.push(ns);
      return ns;
    },
    startDaemon(config, cwd) {
      const child = spawn('node', [PERUSE_BIN, 'run', '--config', config], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      left.children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, stderr: () => stderr, exited };
    },
  };
  afterAll(() => {
    for (const child of left.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const ns of left.namespaces) ns.remove();
    for (const dir of left.dirs) rmSync(dir, { recursive: true, force: true });
  });
  return left;
}
