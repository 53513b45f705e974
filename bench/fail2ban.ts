// fail2ban-regex with a fail2ban filter vs `peruse test` with the rule `peruse import fail2ban`
// made of it, on the same 200 000-line log: the whole process of each, from start to exit.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Fail2banRow { name: string; value: number; unit: string; note?: string }

const LINES = 200_000;

/** An auth.log of sshd lines written here (not fail2ban's samples): failures, logins, closes, noise. */
export function writeSshdLog(file: string, lines = LINES): void {
  const out: string[] = [];
  const start = Date.UTC(2026, 2, 1, 0, 0, 0);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  for (let i = 0; i < lines; i++) {
    const t = new Date(start + i * 400);
    const date = `${months[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, ' ')} ${t.toISOString().slice(11, 19)}`;
    const pid = 10_000 + Math.floor(i / 4);
    const ip = `198.51.${(i * 7) % 200}.${(i * 13) % 250 + 1}`;
    const port = 30_000 + (i % 30_000);
    let message: string;
    switch (i % 8) {
      case 0: message = `Failed password for root from ${ip} port ${port} ssh2`; break;
      case 1: message = `Invalid user admin${i % 50} from ${ip} port ${port}`; break;
      case 2: message = `Connection closed by ${ip} port ${port} [preauth]`; break;
      case 3: message = `Accepted publickey for deploy from ${ip} port ${port} ssh2: ED25519 SHA256:abcdef${i % 97}`; break;
      case 4: message = `pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)`; break;
      case 5: message = `Failed password for invalid user oracle from ${ip} port ${port} ssh2`; break;
      case 6: message = `Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`; break;
      default: message = `Disconnected from user deploy ${ip} port ${port}`;
    }
    out.push(`${date} gate sshd[${pid}]: ${message}`);
  }
  writeFileSync(file, out.join('\n') + '\n');
}

function timed(argv: string[]): { seconds: number; stdout: string; status: number | null } {
  const started = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
  return { seconds, stdout: r.stdout, status: r.status };
}

export function fail2banBench(work: string, peruse: string, row: (r: Fail2banRow) => void): void {
  if (!existsSync('/usr/bin/fail2ban-regex')) throw new Error('fail2ban-regex is missing (apt-get install fail2ban)');
  const log = path.join(work, 'sshd-200k.log');
  if (!existsSync(log)) writeSshdLog(log);
  const config = path.join(work, 'fail2ban-sshd.json');
  const imported = spawnSync('node', [peruse, 'import', 'fail2ban', '--jail', 'sshd', '--out', config, '--force'], { encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`peruse import fail2ban: ${imported.stderr}`);

  const f2b = timed(['fail2ban-regex', '--print-no-missed', log, '/etc/fail2ban/filter.d/sshd.conf']);
  const f2bFailures = Number(/Failregex: (\d+) total/.exec(f2b.stdout)?.[1] ?? NaN);
  const ours = timed(['node', peruse, 'test', '--config', config, '--log', log, '--log-format', 'line', '--json']);
  const summary = JSON.parse(ours.stdout) as { steps: { step: string; hits: number }[] };
  const counted = summary.steps.find((s) => s.step === 'sshd: count[0]')?.hits ?? NaN;

  row({ name: 'fail2ban.regexSeconds', value: Number(f2b.seconds.toFixed(2)), unit: 's', note: `fail2ban-regex, sshd filter, ${LINES} lines, ${f2bFailures} lines matched, F-NOFAIL ones included` });
  row({ name: 'fail2ban.peruseTestSeconds', value: Number(ours.seconds.toFixed(2)), unit: 's', note: `peruse test with the imported sshd jail, same log, ${counted} failures counted` });
  row({ name: 'fail2ban.speedup', value: Number((f2b.seconds / ours.seconds).toFixed(2)), unit: '×', note: 'fail2ban-regex time / peruse test time' });
}
