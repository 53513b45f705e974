// `peruse import fail2ban` proven on fail2ban's own test data: Debian's fail2ban package brings
// /etc/fail2ban and sample logs annotated with `# failJSON:` (which lines fail, which host).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImportResult } from '../../src/fail2ban/import.js';
import { peruseAsync, runOk } from '../helpers/cli.js';
import { REMOTE } from '../helpers/journal-fixtures.js';
import {
  configWithEveryFilter, expectationsOf, FAIL2BAN_DIR, sampleFiles, shippedFilters, table, TOP_JAILS, type JailResult,
} from '../helpers/fail2ban-samples.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/peruse.js');
const run = promisify(execFile);
const peruse = (args: string[]) => peruseAsync(args, { cwd: root });

/** Runs `peruse test --log SAMPLE --log-format line` with the jail's imported chains; per line, the host it counted a failure for. */
async function failuresFound(result: ImportResult, jail: string, failureStep: string, sample: string, work: string): Promise<Map<number, string>> {
  const chains = Object.fromEntries(Object.entries(result.config.actions).filter(([name]) => name === jail || name.startsWith(`${jail}: `)));
  const config = path.join(work, `${jail}.json`);
  writeFileSync(config, JSON.stringify({ actions: chains }));
  const { stdout } = await run('node', [bin, 'test', '--config', config, '--log', sample, '--log-format', 'line', '--json', '--show-matches', failureStep],
    { maxBuffer: 1 << 28 }).catch((e: { stdout: string }) => e);
  const out = JSON.parse(stdout) as { shown?: { where: string; entry: Record<string, unknown> }[] };
  const hosts = new Map<number, string>();
  for (const s of out.shown ?? []) hosts.set(Number(s.where.split(':').pop()), String(s.entry.host));
  return hosts;
}

describe('peruse import fail2ban on Debian\'s fail2ban', () => {
  let dir: string;
  let jails: string[];
  let result: ImportResult;
  let work: string;

  beforeAll(async () => {
    ({ dir, jails } = configWithEveryFilter());
    // in another process: the import judges each pattern's backtracking (recheck, seconds each), minutes of
    // synchronous work that would starve this worker's RPC to vitest (60 s timeout)
    const script = `const { importFail2ban } = await import(${JSON.stringify(path.join(root, 'dist/src/fail2ban/import.js'))});
      process.stdout.write(JSON.stringify(importFail2ban(${JSON.stringify(dir)}, ${JSON.stringify(jails)})));`;
    result = JSON.parse((await runOk('node', ['--input-type=module', '-e', script])).stdout) as ImportResult;
    work = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-work-'));
  }, 600_000);

  it('every filter fail2ban ships is either converted or listed with a reason, and peruse check accepts the config', async () => {
    const reports = new Map(result.reports.map((r) => [r.jail, r]));
    const notConverted: string[] = [];
    for (const filter of shippedFilters()) {
      const report = reports.get(filter);
      expect(report, filter).toBeDefined();
      if (report!.status === 'not converted') {
        expect(report!.notes.length, `${filter} has no reason`).toBeGreaterThan(0);
        notConverted.push(`${filter}: ${report!.notes.at(-1)}`);
      }
    }
    process.stdout.write(`not converted (${notConverted.length} of ${shippedFilters().length}):\n  ${notConverted.join('\n  ')}\n`);
    // the files that only hold shared definitions (common.conf …) have nothing to convert, and say so
    expect(notConverted.some((n) => n.startsWith('common: ') && n.includes('no failregex'))).toBe(true);
    const file = path.join(work, 'all.json');
    writeFileSync(file, JSON.stringify(result.config));
    // (check judges each pattern that can backtrack with recheck, up to 10 s each: minutes for 90 jails)
    const check = await peruse(['check', file]);
    expect(check.stderr).not.toContain(' E_');
    expect(check.status).toBe(0);
  }, 300_000);

  it('on fail2ban\'s sample logs, the 20 most used jails find at least 95 % of the expected failures with the right host, and no jail finds one where none is expected', async () => {
    const reports = new Map(result.reports.map((r) => [r.jail, r]));
    const results: JailResult[] = [];
    const samples = [...sampleFiles()].filter(([name]) => reports.has(name));
    const queue = [...samples];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [name, [file]] = next;
        const report = reports.get(name)!;
        const expectations = expectationsOf(file!, report.mode ?? 'normal');
        const expected = expectations.filter((e) => e.match && e.host !== undefined);
        if (report.status === 'not converted' || !report.failureStep) {
          results.push({ jail: name, expected: expected.length, found: 0, wrongHost: 0, falsePositives: 0, notes: `not converted: ${report.notes.at(-1) ?? ''}` });
          continue;
        }
        const hosts = await failuresFound(result, name, report.failureStep, file!, work);
        let found = 0, wrongHost = 0, falsePositives = 0;
        const missed: number[] = [];
        for (const e of expectations) {
          const host = hosts.get(e.line);
          if (e.match && e.host !== undefined) {
            if (host === e.host) found++;
            else { missed.push(e.line); if (host !== undefined) wrongHost++; }
          } else if (!e.match && host !== undefined) falsePositives++;
        }
        results.push({ jail: name, expected: expected.length, found, wrongHost, falsePositives,
          notes: missed.length ? `missed lines ${missed.slice(0, 6).join(', ')}${missed.length > 6 ? ' …' : ''}` : '' });
      }
    };
    await Promise.all([worker(), worker()]);
    results.sort((a, b) => a.jail.localeCompare(b.jail));
    const top = results.filter((r) => TOP_JAILS.includes(r.jail));
    const sum = (rs: JailResult[], k: 'expected' | 'found') => rs.reduce((n, r) => n + r[k], 0);
    process.stdout.write(`${table(results)}\n\ntop ${top.length} jails: ${sum(top, 'found')} of ${sum(top, 'expected')} expected failures found with the right host; all jails: ${sum(results, 'found')} of ${sum(results, 'expected')}\n`);
    expect(top.map((r) => r.jail).sort()).toEqual([...TOP_JAILS].sort());
    expect(sum(top, 'found') / sum(top, 'expected')).toBeGreaterThanOrEqual(0.95);
    expect(results.filter((r) => r.falsePositives > 0).map((r) => r.jail)).toEqual([]);
    expect(results.filter((r) => r.wrongHost > 0).map((r) => r.jail)).toEqual([]);
  }, 600_000);
});

describe('peruse import fail2ban, the command', () => {
  it('imports the enabled jails, reports each on stderr, and writes a config peruse check accepts', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-cli-'));
    const out = path.join(work, 'peruse.json');
    const imported = await peruse(['import', 'fail2ban', '--dir', FAIL2BAN_DIR, '--out', out]);
    expect(imported.status).toBe(0);
    // Debian enables sshd (jail.d/defaults-debian.conf) and nothing else
    expect(imported.stderr).toMatch(/^\[sshd\] converted/m);
    expect(imported.stderr).toMatch(/1 jail\(s\)/);
    const config = JSON.parse(readFileSync(out, 'utf8')) as { actions: Record<string, unknown> };
    expect(Object.keys(config.actions)).toContain('sshd');
    expect((await peruse(['check', out])).status).toBe(0);
  });

  it('never writes over an existing file without --force', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-cli-'));
    const out = path.join(work, 'peruse.json');
    writeFileSync(out, 'mine');
    const refused = await peruse(['import', 'fail2ban', '--dir', FAIL2BAN_DIR, '--out', out]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(out, 'utf8')).toBe('mine');
    const forced = await peruse(['import', 'fail2ban', '--dir', FAIL2BAN_DIR, '--out', out, '--force']);
    expect(forced.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('"sshd"');
  });

  it('a jail name that is not in the configuration is an error naming it', async () => {
    const r = await peruse(['import', 'fail2ban', '--dir', FAIL2BAN_DIR, '--jail', 'no-such-jail']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[no-such-jail]');
    expect(existsSync(FAIL2BAN_DIR)).toBe(true);
  });

  it('a jail.local override changes the imported counter, ban time and never-banned networks', async () => {
    const { dir } = configWithEveryFilter();
    writeFileSync(path.join(dir, 'jail.local'), '[sshd]\nenabled = true\nmaxretry = 3\nfindtime = 1h\nbantime = 2d\nignoreip = 192.0.2.0/24 ::1\nbanaction = nftables-multiport\n');
    const r = await peruse(['import', 'fail2ban', '--dir', dir, '--jail', 'sshd']);
    expect(r.status).toBe(0);
    const chains = (JSON.parse(r.stdout) as { actions: Record<string, { action?: string; filter?: string; args: Record<string, unknown> }[]> }).actions;
    const steps = Object.values(chains).flat();
    expect(steps.find((s) => s.action === 'action_counterRaise')?.args.keepSeconds).toBe(3600);
    expect(steps.find((s) => s.filter === 'filter_greaterOrEquals')?.args.value).toBe(3);
    expect(steps.find((s) => s.action === 'action_nftBan')?.args.banSeconds).toBe(172800);
    expect(steps.find((s) => s.filter === 'filter_inNetworks')?.args.nets).toEqual(['192.0.2.0/24', '::1']);
    expect(r.stderr).not.toContain('banned into nftables sets');
  });
});

describe('an imported systemd jail on a real journal', () => {
  it('journalmatch keeps other units out, a session gives its address to a line without one, and maxretry failures ban', async () => {
    const { dir } = configWithEveryFilter();
    writeFileSync(path.join(dir, 'jail.local'), '[sshd]\nenabled = true\nbackend = systemd\nmaxretry = 3\nbanaction = nftables-multiport\n');
    const work = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-journal-'));
    const config = path.join(work, 'peruse.json');
    expect((await peruse(['import', 'fail2ban', '--dir', dir, '--out', config])).status).toBe(0);
    const t0 = Date.parse('2026-03-01T10:00:00Z') * 1000;
    const messages: [number, string, string][] = [
      [700, 'sshd.service', 'Connection from 192.0.2.9 port 40000 on 10.0.0.1 port 22 rdomain ""'],
      [700, 'sshd.service', 'Disconnecting: Too many authentication failures for root [preauth]'],
      [701, 'other.service', 'Failed password for root from 198.51.100.3 port 40001 ssh2'],
      [702, 'sshd.service', 'Failed password for root from 198.51.100.3 port 40002 ssh2'],
      [703, 'sshd.service', 'Failed password for invalid user admin from 198.51.100.3 port 40003 ssh2'],
      [704, 'sshd.service', 'Invalid user oracle from 198.51.100.3 port 40004'],
    ];
    const exportText = messages.map(([pid, unit, message], i) => Object.entries({
      __CURSOR: `s=1;i=${i + 1}`, __REALTIME_TIMESTAMP: String(t0 + i * 1_000_000), __MONOTONIC_TIMESTAMP: String(i + 1),
      _BOOT_ID: 'b3a4f6e2d1c04b5a9e8f7d6c5b4a3928', _MACHINE_ID: 'a3a4f6e2d1c04b5a9e8f7d6c5b4a3928', _HOSTNAME: 'gate',
      _SYSTEMD_UNIT: unit, _COMM: unit === 'sshd.service' ? 'sshd' : 'other', SYSLOG_IDENTIFIER: 'sshd', _PID: String(pid), PRIORITY: '6', MESSAGE: message,
    }).map(([k, v]) => `${k}=${v}`).join('\n') + '\n\n').join('');
    mkdirSync(path.join(work, 'journal'));
    execFileSync('sh', ['-c', `"${REMOTE}" -o "${work}/journal/remote.journal" -`], { input: exportText });
    const result = await peruse(['test', '--config', config, '--journal-dir', path.join(work, 'journal'), '--json', '--show-matches', 'sshd: count[0]']);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { shown?: { entry: Record<string, unknown> }[]; effects: unknown };
    expect(summary.shown, result.stdout).toBeDefined();
    expect(summary.shown!.map((s) => [s.entry.host, s.entry.MESSAGE])).toEqual([
      ['192.0.2.9', messages[1]![2]],
      ['198.51.100.3', messages[3]![2]],
      ['198.51.100.3', messages[4]![2]],
      ['198.51.100.3', messages[5]![2]],
    ]);
    expect(JSON.stringify(summary.effects)).toContain('198.51.100.3');
    expect(JSON.stringify(summary.effects)).toContain('inet peruse f2b-sshd4');
    expect(JSON.stringify(summary.effects)).not.toContain('192.0.2.9"');
  });
});
