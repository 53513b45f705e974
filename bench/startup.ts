// Start-up of the edit-test loop: `peruse check` of the 136-step Pyruse example and `peruse test` of
// a library rule on its samples, beside node's own start. Wall time, and CPU time (user + sys of the
// finished process, which a busy machine disturbs less); medians of `runs`, taken in alternation.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface StartupRow { name: string; value: number; unit: string; target?: string; ok?: boolean; note?: string }

interface Sample { wall: number; cpu: number }

export function measureStartup(root: string, fixture: string, runs = 7): StartupRow[] {
  const peruse = path.join(root, 'bin/peruse.js');
  const commands: Record<string, string[]> = {
    node: [process.execPath, '-e', '0'],
    check: [process.execPath, peruse, 'check', fixture],
    test: [process.execPath, peruse, 'test', '--config', 'rules/sshd.json', '--input', 'rules/sshd.samples.jsonl'],
  };
  const samples: Record<string, Sample[]> = { node: [], check: [], test: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, argv] of Object.entries(commands)) samples[name]!.push(timed(argv, root));
  }
  const wall = (name: string) => Number(median(samples[name]!.map((s) => s.wall)).toFixed(3));
  const cpu = (name: string) => Number(median(samples[name]!.map((s) => s.cpu)).toFixed(3));
  const list = (name: string) => samples[name]!.map((s) => s.wall.toFixed(3)).join(', ');
  return [
    { name: 'startup.node', value: wall('node'), unit: 's', note: `node -e 0, median of ${runs}; cpu ${cpu('node')} s` },
    { name: 'startup.check', value: wall('check'), unit: 's', target: '< 0.2', ok: wall('check') < 0.2, note: `136-step Pyruse example: ${list('check')}; cpu ${cpu('check')} s` },
    { name: 'startup.checkOverNode', value: Number((wall('check') - wall('node')).toFixed(3)), unit: 's', note: 'check minus node starting' },
    { name: 'startup.test', value: wall('test'), unit: 's', note: `peruse test of rules/sshd.json on its samples; cpu ${cpu('test')} s` },
  ];
}

/** Wall time of one run, and its CPU time from the kernel's accounting of finished children. */
function timed(argv: string[], cwd: string): Sample {
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr.slice(-500)}`);
  return { wall, cpu: childrenCpuSeconds() - cpuBefore };
}

/** cutime + cstime of /proc/self/stat: CPU of the children waited for, in clock ticks (100 per second). */
function childrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
  // fields after "(comm) ": state is [0], so cutime (stat field 16) is [13] and cstime [14]
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
