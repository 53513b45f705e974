import { createRequire } from 'node:module';
// child_process (and the socket code it pulls in) loads with the first command: `check` runs none
const childProcess = (): typeof import('node:child_process') => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
import { readFileSync, statSync } from 'node:fs';

const CACHE_MS = 60_000;
const answers = new Map<string, { exists: boolean; at: number }>();
let passwdNames: Set<string> = new Set();
let passwdMtime = -1;

function localUsers(): Set<string> {
  try {
    const mtime = statSync('/etc/passwd').mtimeMs;
    if (mtime !== passwdMtime) {
      passwdMtime = mtime;
      passwdNames = new Set(readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]!).filter(Boolean));
    }
  } catch {
    passwdNames = new Set();
  }
  return passwdNames;
}

/**
 * Whether the system knows this user *name* (like Python's pwd.getpwnam): /etc/passwd first, then
 * NSS through `getent passwd` (LDAP, sssd…), answers cached for a minute.
 */
export function userExists(name: unknown): boolean {
  if (typeof name !== 'string' || name === '' || name.length > 256 || /[\s:\0]/.test(name)) return false;
  if (localUsers().has(name)) return true;
  const now = Date.now();
  const cached = answers.get(name);
  if (cached && now - cached.at < CACHE_MS) return cached.exists;
  const result = childProcess().spawnSync('getent', ['passwd', '--', name], { timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
  // Pyruse compat: names only. getent reads an all-digit key as a UID ("0" finds root), so the
  // answer counts only when it names this very user: attackers do try "0" and "1000" as names.
  const exists = result.status === 0 && String(result.stdout).split('\n').some((line) => line.split(':')[0] === name);
  if (answers.size > 10_000) answers.clear(); // bounded under a dictionary attack
  answers.set(name, { exists, at: now });
  return exists;
}
