// One host of a cluster test: `peruse run` following its own journal directory (entries written
// by systemd-journal-remote), optionally inside a network namespace.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// sources (vitest) or dist/bench/cluster (the bench): the repository root either way
const ROOT = path.resolve(import.meta.dirname, import.meta.dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync) ?? '/usr/lib/systemd/systemd-journal-remote';
const BOOT = '5eed00005eed00005eed00005eed0000';

export interface PeruseHost {
  readonly dir: string;
  readonly storage: string;
  readonly config: string;
  /** stderr of the current (or last) run. */
  stderr(): string;
  /** Appends sshd lines "Invalid user admin from IP" to the journal, timestamped now. */
  attack(ips: string[]): void;
  start(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  /** `peruse CMD… --config` (bans list, unban) in the host's namespace. */
  cli(args: string[]): { code: number | null; out: string; err: string };
  remove(): Promise<void>;
}

export const SSH_RULE = (banAction: Record<string, unknown>) => ({
  SSH: [
    { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Invalid user \\S+ from (\\S+)$', save: ['thatIP'] } },
    banAction,
  ],
});

/** `config(storage, journal)` gives the host's peruse.json; `prefix` runs peruse in a netns. */
export function createHost(name: string, config: (dirs: { storage: string; journal: string }) => Record<string, unknown>, prefix: readonly string[] = []): PeruseHost {
  const dir = mkdtempSync(path.join(tmpdir(), `peruse-host-${name}-`));
  const journal = path.join(dir, 'journal'), storage = path.join(dir, 'storage'), configFile = path.join(dir, 'peruse.json');
  mkdirSync(journal);
  writeFileSync(configFile, JSON.stringify(config({ storage, journal }), null, 1));
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let stderr = '';
  let line = 0;
  const argv = (args: string[]) => [...prefix, 'node', PERUSE, ...args, '--config', configFile];
  const host: PeruseHost = {
    dir, storage, config: configFile,
    stderr: () => stderr,
    attack(ips) {
      const parts: Buffer[] = [];
      for (const ip of ips) {
        const realtime = BigInt(Date.now()) * 1000n + BigInt(line++ % 1000);
        parts.push(Buffer.from([
          `__REALTIME_TIMESTAMP=${realtime}`, `__MONOTONIC_TIMESTAMP=${realtime - 1_700_000_000_000_000n}`, `_BOOT_ID=${BOOT}`,
          `_HOSTNAME=${name}`, 'SYSLOG_IDENTIFIER=sshd', 'PRIORITY=5', `MESSAGE=Invalid user admin from ${ip}`, '', '',
        ].join('\n')));
      }
      execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: Buffer.concat(parts), stdio: ['pipe', 'ignore', 'ignore'] });
    },
    async start() {
      stderr = '';
      const [command, ...args] = argv(['run']);
      const started = spawn(command!, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      exited = new Promise((resolve) => started.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('following the journal')) {
        if (Date.now() > deadline || started.exitCode !== null) throw new Error(`peruse ${name} did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (!child || child.exitCode !== null) return;
      // `ip netns exec` execs node in place: the child is the daemon itself
      const pid = child.pid!;
      // its journalctl would outlive it until its next write: its pid is taken before the parent dies
      const journalctls = childPids(pid);
      process.kill(pid, 'SIGKILL');
      await exited;
      for (const other of journalctls) {
        try { process.kill(other, 'SIGKILL'); } catch { /* gone already */ }
      }
    },
    cli(args) {
      const [command, ...rest] = argv(args);
      return spawnSyncText(command!, rest, dir);
    },
    async remove() {
      await host.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return host;
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

function spawnSyncText(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

export function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as T : undefined;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
