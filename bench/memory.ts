// Memory of the daemon as systemd runs it: `peruse run` over a journal (peak RSS), and
// `peruse report --send` of a big day to a real SMTP server on loopback, both under the unit's
// NODE_OPTIONS (read from examples/systemd/peruse.service, so the bench follows the unit).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';
const SSH_BAN_TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';

/** The heap flags of the systemd unit. */
export function unitNodeOptions(): string {
  const unit = readFileSync(path.join(root, 'examples/systemd/peruse.service'), 'utf8');
  const options = /NODE_OPTIONS=([^"\n]+)"?/.exec(unit)?.[1];
  if (options === undefined) throw new Error('examples/systemd/peruse.service sets no NODE_OPTIONS');
  return options;
}

/** A journal directory holding the export file's entries (made once, by systemd-journal-remote). */
export function journalOf(exportFile: string, dir: string): string {
  if (!existsSync(path.join(dir, 'remote.journal'))) {
    mkdirSync(dir, { recursive: true });
    const remote = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync);
    if (!remote) throw new Error('systemd-journal-remote is not installed');
    execFileSync('sh', ['-c', `"${remote}" -o "${dir}/remote.journal" - < "${exportFile}"`], { stdio: 'ignore' });
  }
  return dir;
}

/**
 * The attack corpus again (`entries`, 100 000 attackers) but ending now, spread over the 23 hours
 * before: its bans (a day long) still hold when the daemon reads it (the wall clock decides), and
 * its event time crosses a local midnight (unless the bench runs between 23:00 and midnight), so
 * the daily report of the day before is sent during the run. Made again after 45 minutes.
 */
export function liveAttackJournal(work: string, entries: number): string {
  const dir = path.join(work, 'journal-attack-100k-live');
  const stamp = path.join(dir, 'made-at');
  const madeAt = existsSync(stamp) ? Number(readFileSync(stamp, 'utf8')) : 0;
  if (Date.now() - madeAt < 45 * 60_000) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const exported = path.join(work, 'attack-100k-live.export');
  const start = Math.floor(Date.now() / 1000) - 23 * 3600;
  process.stderr.write(`generating ${exported} (ending now)…\n`);
  execFileSync('node', [generator, '--entries', String(entries), '--seed', '1', '--format', 'export', '--attackers', '100000', '--hours', '23', '--start', String(start), '--out', exported, '--truth', path.join(work, 'attack-100k-live.truth.json')]);
  journalOf(exported, dir);
  rmSync(exported, { force: true });
  writeFileSync(stamp, String(Date.now()));
  return dir;
}

/** Peak resident memory (VmHWM) of a live process, in MB. */
function peakRssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024);
}

function bench(dir: string, overrides: Record<string, unknown>): string {
  const config = { ...(JSON.parse(readFileSync(benchConfig, 'utf8')) as Record<string, unknown>), storage: path.join(dir, 'storage'), ...overrides };
  const file = path.join(dir, 'peruse.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * `peruse run` under the unit's flags, from the first entry of the journal to its last, the bench
 * config banning through real nft in a fresh network namespace: its peak RSS once every entry is
 * processed (read from /proc while it still runs), and the time it took.
 */
export async function daemonPeakRss(journalDir: string, workDir: string, entries: number, env: Record<string, string> = {}): Promise<{ peakRssMB: number; seconds: number }> {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const ns = `peruse-bench-mem-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const inNs = ['ip', 'netns', 'exec', ns];
  const port = 20000 + ((process.pid + 7) % 20000);
  try {
    execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', '-f', '-'], { input: SSH_BAN_TABLES });
    const email = (JSON.parse(readFileSync(benchConfig, 'utf8')) as { email?: object }).email;
    const config = bench(workDir, {
      journal: { directory: journalDir, since: '1970-01-01 00:00:00' },
      metrics: { port, host: '127.0.0.1' },
      nftBan: { nft: [...inNs, 'nft'] },
      email: { ...email, sendmail: ['/bin/sh', '-c', 'cat > /dev/null'] },
    });
    const started = performance.now();
    const child = spawn('node', [peruse, 'run', '--config', config], { cwd: workDir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: unitNodeOptions(), ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`peruse run exited: ${stderr.slice(-1000)}`);
        const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
        const seen = Number(/^peruse_entries_total (\d+)/m.exec(text)?.[1] ?? 0);
        if (seen >= entries) return { peakRssMB: peakRssMB(child.pid!), seconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => { if (child.exitCode !== null) resolve(undefined); else child.on('close', resolve); });
    }
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}

/**
 * A day of `attackers` distinct attackers through the bench workflow (bans left out: no firewall
 * needed to write the report journal), then `peruse report --send` of it under the unit's flags
 * to a real SMTP server on loopback: its peak RSS (GNU time's maximum resident set size) and the records sent.
 */
export async function reportSendPeakRss(workDir: string, attackers: number, entries: number): Promise<{ peakRssMB: number; records: number; seconds: number }> {
  mkdirSync(workDir, { recursive: true });
  const corpus = path.join(workDir, `day-${attackers}.jsonl`);
  if (!existsSync(corpus)) execFileSync('node', [generator, '--entries', String(entries), '--attackers', String(attackers), '--hours', '23', '--seed', '19', '--format', 'json', '--out', corpus, '--truth', path.join(workDir, 'truth.json')]);
  const journalCopy = path.join(workDir, `report-${attackers}.jsonl`);
  if (!existsSync(journalCopy)) {
    const config = JSON.parse(readFileSync(benchConfig, 'utf8')) as { actions: Record<string, { action?: string; args?: unknown }[]> };
    for (const steps of Object.values(config.actions)) for (const step of steps) if (step.action === 'action_nftBan') { step.action = 'action_noop'; step.args = {}; }
    const dayDir = path.join(workDir, 'day');
    rmSync(dayDir, { recursive: true, force: true });
    mkdirSync(dayDir, { recursive: true });
    writeFileSync(path.join(dayDir, 'peruse.json'), JSON.stringify({ ...config, storage: path.join(dayDir, 'storage'), email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Daily report', sendmail: ['false'] } }));
    execFileSync('node', [peruse, 'replay', '--config', path.join(dayDir, 'peruse.json'), '--input', corpus], { stdio: 'ignore' });
    copyFileSync(path.join(dayDir, 'storage/peruse.report.jsonl'), journalCopy);
  }
  const records = readFileSync(journalCopy, 'utf8').split('\n').filter(Boolean).length;

  let received = 0;
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData(stream, _session, callback) { stream.on('data', () => {}); stream.on('end', () => { received++; callback(); }); },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const sendDir = path.join(workDir, 'send');
    rmSync(sendDir, { recursive: true, force: true });
    mkdirSync(path.join(sendDir, 'storage'), { recursive: true });
    copyFileSync(journalCopy, path.join(sendDir, 'storage/peruse.report.jsonl'));
    writeFileSync(path.join(sendDir, 'peruse.json'), JSON.stringify({
      actions: { A: [{ action: 'action_noop' }] }, storage: path.join(sendDir, 'storage'),
      email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Daily report', smtp: { host: '127.0.0.1', port: (server.server.address() as AddressInfo).port } },
    }));
    const started = performance.now();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kb=%M', 'node', peruse, 'report', '--send', '--config', path.join(sendDir, 'peruse.json')], { env: { ...process.env, NODE_OPTIONS: unitNodeOptions() }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code) => resolve({ code, stderr }));
    });
    const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
    if (result.code !== 0 || received !== 1) throw new Error(`report --send failed (${String(result.code)}, ${received} mails): ${result.stderr.slice(-1000)}`);
    const kb = Number(/peak-rss-kb=(\d+)/.exec(result.stderr)?.[1] ?? NaN);
    return { peakRssMB: Math.round(kb / 1024), records, seconds };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
