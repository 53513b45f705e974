// fail2ban's own sample logs (Debian's fail2ban package) as a test of `peruse import fail2ban`:
// each sample line carries a `# failJSON: {...}` expectation (match or not, which host). We read
// them where the package installed them; nothing of them is copied into the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const FAIL2BAN_DIR = '/etc/fail2ban';
const PACKAGE_FILES = (): string => execFileSync('dpkg', ['-L', 'fail2ban'], { encoding: 'utf8' });

/** Where the package put its sample logs (…/fail2ban/tests/files/logs). */
export function sampleLogDir(): string {
  const dir = PACKAGE_FILES().split('\n').find((l) => l.endsWith('/tests/files/logs'));
  if (!dir) throw new Error('fail2ban is not installed (apt-get install fail2ban): no tests/files/logs');
  return dir;
}

export interface Expectation { line: number; match: boolean; host?: string }

/**
 * The expectations of one sample file that apply in the default mode: a `# filterOptions:` block
 * counts when one of its option sets is empty or names `mode` (the jail's) and nothing that
 * changes the lines (test.prefix-line, logging …).
 */
export function expectationsOf(file: string, mode: string): Expectation[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Expectation[] = [];
  let applies = true;
  let pending: { match: boolean; host?: string } | undefined;
  lines.forEach((text, i) => {
    const options = /^#\s*filterOptions:\s*(.*)$/.exec(text);
    if (options) {
      let sets: unknown;
      try { sets = JSON.parse(options[1]!); } catch { applies = false; return; }
      const list = (Array.isArray(sets) ? sets : [sets]) as Record<string, unknown>[];
      applies = list.some((set) => Object.entries(set).every(([k, v]) =>
        (k === 'mode' && v === mode) || (k === 'logtype' && v !== 'rfc5424') || k === 'test.condition'));
      return;
    }
    const json = /^#\s*failJSON:\s*(.*)$/.exec(text);
    if (json) {
      try {
        const value = JSON.parse(json[1]!) as { match?: boolean; host?: string | null; constraint?: string };
        pending = value.constraint !== undefined && !constraintHolds(value.constraint, mode) ? undefined
          : { match: value.match === true, host: typeof value.host === 'string' ? value.host : undefined };
      } catch { pending = undefined; }
      return;
    }
    if (text.trim() === '' || text.startsWith('#')) return;
    if (pending && applies) out.push({ line: i + 1, ...pending });
    pending = undefined;
  });
  return out;
}

/** The `constraint` of a failJSON, for the two forms the samples use on the mode; any other is not met. */
function constraintHolds(constraint: string, mode: string): boolean {
  const m = /^opts\.get\('mode'\)\s*(==|!=)\s*'([^']*)'$/.exec(constraint.trim());
  if (!m) return false;
  return (m[1] === '==') === (m[2] === mode);
}

/** Sample files by filter name (a directory of samples counts as its files). */
export function sampleFiles(dir = sampleLogDir()): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) continue;
    out.set(name, [full]);
  }
  return out;
}

/** The filters fail2ban ships (filter.d/*.conf). */
export function shippedFilters(): string[] {
  return readdirSync(path.join(FAIL2BAN_DIR, 'filter.d')).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -5)).sort();
}

/**
 * A copy of /etc/fail2ban (links to its files) whose jail.local enables one jail per shipped
 * filter: the jail of jail.conf named like it, else a new one using it. Backends are set to
 * `auto` because the samples are files, as fail2ban's own test reads them.
 */
export function configWithEveryFilter(): { dir: string; jails: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-'));
  for (const name of readdirSync(FAIL2BAN_DIR)) {
    if (name === 'jail.local' || name === 'jail.d') continue;
    symlinkSync(path.join(FAIL2BAN_DIR, name), path.join(dir, name));
  }
  const jailConf = readFileSync(path.join(FAIL2BAN_DIR, 'jail.conf'), 'utf8');
  const existing = new Set([...jailConf.matchAll(/^\[([^\]]+)\]/gm)].map((m) => m[1]!));
  const jails: string[] = [];
  let local = '';
  for (const filter of shippedFilters()) {
    jails.push(filter);
    local += `[${filter}]\nenabled = true\nbackend = auto\n${existing.has(filter) ? '' : `filter = ${filter}\n`}\n`;
  }
  // the sshd-journal samples are sshd's filter as a systemd-backend jail reads it (logtype journal)
  jails.push('sshd-journal');
  local += '[sshd-journal]\nenabled = true\nbackend = auto\nfilter = sshd[logtype=journal]\n';
  writeFileSync(path.join(dir, 'jail.local'), local);
  return { dir, jails };
}

export interface JailResult {
  jail: string;
  expected: number;
  found: number;
  wrongHost: number;
  falsePositives: number;
  notes: string;
}

export const TOP_JAILS = ['sshd', 'sshd-journal', 'nginx-http-auth', 'nginx-botsearch', 'nginx-limit-req', 'postfix', 'dovecot',
  'apache-auth', 'apache-badbots', 'apache-noscript', 'vsftpd', 'proftpd', 'pure-ftpd', 'courier-auth', 'exim',
  'sendmail-auth', 'named-refused', 'mysqld-auth', 'recidive', 'pam-generic'];

export function table(results: readonly JailResult[]): string {
  const rows = results.map((r) => `| ${r.jail} | ${r.expected} | ${r.found} | ${r.expected ? ((100 * r.found) / r.expected).toFixed(0) : '–'} % | ${r.wrongHost} | ${r.falsePositives} | ${r.notes} |`);
  return ['| jail (sample file) | expected failures | found, right host | | wrong host | found where none expected | |', '|---|---:|---:|---:|---:|---:|---|', ...rows].join('\n');
}

export { existsSync };
