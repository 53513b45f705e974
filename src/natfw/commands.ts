// Administrator-given command lines (like the old script's `-c COMMAND`) and the default
// loaders and validators of each format.
import { spawn } from 'node:child_process';
import type { OutputFormat } from './render.js';

export interface ShellResult {
  code: number;
  output: string;
}

/** Runs an administrator-given command line (like the old script's `-c COMMAND`) through /bin/sh. */
export type ShellRunner = (command: string, env: Record<string, string>) => Promise<ShellResult>;

export const shellRunner: ShellRunner = (command, env) => new Promise((done) => {
  const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => chunks.push(d));
  child.on('error', (error) => done({ code: 127, output: error.message }));
  child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') }));
});

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `{}` in a command stands for the rules file (also given as $NATFW_RULES). */
export function commandFor(template: string, rulesPath: string): string {
  return template.split('{}').join(shellQuote(rulesPath));
}

export const DEFAULT_RELOAD: Record<OutputFormat, string | null> = {
  'nft': 'nft -f {}',
  // declaring NATFW in the file flushes only that chain; the jump is added once, never twice
  'iptables-chain': 'iptables-restore --noflush {} && { iptables -t nat -C POSTROUTING -j NATFW 2>/dev/null || iptables -t nat -I POSTROUTING 1 -j NATFW; }',
  'iptables-table': 'iptables-restore {}',
  'json': null,
};

export const DEFAULT_VALIDATE: Record<OutputFormat, string | null> = {
  'nft': 'nft -c -f {}',
  'iptables-chain': 'iptables-restore --test --noflush {}',
  'iptables-table': 'iptables-restore --test {}',
  'json': null,
};
