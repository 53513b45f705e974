import { spawn } from 'node:child_process';
import path from 'node:path';

export const PERUSE_BIN = path.resolve(import.meta.dirname, '../../bin/peruse.js');

export interface CliResult { status: number | null; stdout: string; stderr: string }

/**
 * Runs a command without blocking the test worker: vitest's worker answers its runner over an RPC
 * with a fixed 60 s timeout, so a synchronous spawn that lasts longer on a loaded machine fails a
 * green run ("Timeout calling onTaskUpdate"). Use it for anything that can take more than seconds.
 */
export function runAsync(command: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
    child.stdin.on('error', () => undefined); // a command that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** `peruse ARGS`, as runAsync. */
export const peruseAsync = (args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> =>
  runAsync('node', [PERUSE_BIN, ...args], options);

/** runAsync that throws, with the command's stderr, unless it exits 0. */
export async function runOk(command: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  const result = await runAsync(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result;
}
