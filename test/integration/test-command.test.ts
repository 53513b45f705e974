import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REMOTE } from '../helpers/journal-fixtures.js';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = (args: string[], input?: string) => spawnSync('node', [path.join(root, 'bin/peruse.js'), 'test', ...args], { cwd: root, encoding: 'utf8', input });

describe('peruse test', () => {
  let dir: string;
  let config: string;
  let marker: string;
  const t0 = Date.parse('2026-03-01T10:00:00Z') * 1000;
  const failure = (n: number, ip = '203.0.113.5') => ({
    __REALTIME_TIMESTAMP: String(t0 + n * 1_000_000), _HOSTNAME: 'gate', SYSLOG_IDENTIFIER: 'sshd', PRIORITY: '6', _PID: '812',
    MESSAGE: `Failed password for root from ${ip} port ${40000 + n} ssh2`,
  });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-test-cmd-'));
    marker = path.join(dir, 'side-effect');
    // every command the config names would leave a file behind if it ran
    const script = path.join(dir, 'would-run.sh');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> "${marker}"\ncat >> "${marker}"\n`);
    chmodSync(script, 0o755);
    config = path.join(dir, 'peruse.json');
    writeFileSync(config, JSON.stringify({
      actions: {
        SSH: [
          { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'sshd' } },
          { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for (?P<user>\\S+) from (?P<ip>\\S+) port' } },
          { action: 'action_counterRaise', args: { counter: 'ssh', for: 'ip', keepSeconds: 600, save: 'fails' } },
          { filter: 'filter_greaterOrEquals', args: { field: 'fails', value: 3 }, else: 'Count' },
          { action: 'action_nftBan', args: { IP: 'ip', nftSetIPv4: 'inet f2b ban4', nftSetIPv6: 'inet f2b ban6', banSeconds: 600 } },
          { action: 'action_email', args: { subject: 'banned', message: 'Banned {ip} after {fails} failures' } },
          { action: 'action_log', args: { message: 'ban {ip}', level: 'WARNING' } },
        ],
        Count: [
          { action: 'action_dailyReport', args: { level: 'INFO', message: 'SSH failure for {user} from {ip}' } },
        ],
        Never: [
          { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'nobody' } },
          { action: 'action_noop' },
        ],
      },
      email: { from: 'a@example.org', to: ['b@example.org'], sendmail: [script] },
      nftBan: { nft: [script] },
      storage: path.join(dir, 'state'),
    }));
  });

  it('runs bans, mail, journal lines and the report without doing any of them, and counts what each step did', () => {
    const lines = [1, 2, 3, 4].map((n) => JSON.stringify(failure(n)));
    lines.push(JSON.stringify({ __REALTIME_TIMESTAMP: String(t0 + 9e6), SYSLOG_IDENTIFIER: 'cron', MESSAGE: 'job 1234 started' }));
    lines.push(JSON.stringify({ __REALTIME_TIMESTAMP: String(t0 + 10e6), SYSLOG_IDENTIFIER: 'cron', MESSAGE: 'job 99 started' }));
    const input = path.join(dir, 'plain.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const result = peruse(['--config', config, '--input', input, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.entries).toBe(6);
    const step = (label: string) => summary.steps.find((s: { step: string }) => s.step === label);
    expect(step('SSH[1]')).toMatchObject({ module: 'filter_pcre', hits: 4, passes: 4 });
    expect(step('SSH[3]')).toMatchObject({ hits: 4, passes: 2 });
    expect(summary.neverMatched).toEqual(['Never[0]']);
    expect(summary.neverReached).toEqual(['Never[1]']);
    const bans = summary.effects.find((e: { step: string }) => e.step === 'SSH[4]');
    expect(bans).toMatchObject({ kind: 'ban', count: 2, texts: [{ text: 'ban 203.0.113.5 in "inet f2b ban4" for 600 s', count: 2 }] });
    expect(summary.effects.find((e: { step: string }) => e.step === 'SSH[5]').texts[0].text).toBe('email "banned": Banned 203.0.113.5 after 3 failures');
    expect(summary.effects.find((e: { step: string }) => e.step === 'SSH[6]').texts[0].text).toBe('log WARNING: ban 203.0.113.5');
    expect(summary.effects.find((e: { step: string }) => e.step === 'Count[0]').count).toBe(2);
    // the two cron lines differ only by a number: one kind of unhandled entry
    expect(summary.unhandled).toEqual({ count: 2, groups: [{ pattern: 'cron: job <n> started', count: 2, example: `${input}:5` }] });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(dir, 'state')) ? readdirSync(path.join(dir, 'state')) : []).toEqual([]);
  });

  it('when an annotated sample is not met, a readable diff is printed and the exit code is 1', () => {
    const samples = [
      { entry: failure(1), expect: { reached: ['SSH[2]'], report: 'INFO: SSH failure for root from 203.0.113.5', noBan: true } },
      { entry: failure(2), expect: { fields: { fails: 2, user: 'root' } } },
      { entry: failure(3), expect: { ban: { address: '203.0.113.5', seconds: 3600 } } },
    ].map((s) => JSON.stringify(s)).join('\n');
    const result = peruse(['--config', config, '--input', '-'], samples);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('✗ stdin:3');
    expect(result.stdout).toContain('    - expected ban 203.0.113.5 for 3600 s\n    + got      ban 203.0.113.5 in "inet f2b ban4" for 600 s');
    expect(result.stdout).toContain('Samples: 1 of 3 expectations NOT met');
    expect(result.stdout).not.toContain('stdin:1 ');
  });

  it('a misspelt expectation fails instead of passing silently', () => {
    const result = peruse(['--config', config, '--input', '-'], JSON.stringify({ entry: failure(1), expect: { bann: '203.0.113.5' } }));
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('expect.bann: unknown expectation');
  });

  it('a text log with # expect: lines is read with the dates of its own lines', () => {
    const log = path.join(dir, 'auth.log');
    writeFileSync(log, [
      'Mar  1 10:00:01 gate sshd[812]: Failed password for root from 198.51.100.7 port 50001 ssh2',
      '# a plain comment',
      'Mar  1 10:00:02 gate sshd[812]: Failed password for root from 198.51.100.7 port 50002 ssh2',
      '# expect: {"ban": {"address": "198.51.100.7", "set": "inet f2b ban4", "seconds": 600}, "email": {"subject": "banned"}}',
      'Mar  1 10:00:03 gate sshd[812]: Failed password for root from 198.51.100.7 port 50003 ssh2',
      'not a log line',
    ].join('\n'));
    const result = peruse(['--config', config, '--log', log, '--year', '2026', '--tz', 'UTC', '--json', '--show-matches', 'SSH[4]']);
    expect(result.status, result.stdout).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ entries: 3, unparsed: 1, samples: { annotated: 1, failed: 0 } });
    expect(summary.shown).toHaveLength(1);
    expect(summary.shown[0]).toMatchObject({ step: 'SSH[4]', kind: 'match', where: `${log}:5` });
    expect(summary.shown[0].entry.__REALTIME_TIMESTAMP).toBe(Date.parse('2026-03-01T10:00:03Z') * 1000);
  });

  it('reads real journal files and lists the entries that reached a step and failed it', () => {
    const exportText = [1, 2].map((n) => Object.entries({ ...failure(n, '192.0.2.44'), __CURSOR: `s=1;i=${n}`, _BOOT_ID: 'b3a4f6e2d1c04b5a9e8f7d6c5b4a3928', _MACHINE_ID: 'a3a4f6e2d1c04b5a9e8f7d6c5b4a3928', __MONOTONIC_TIMESTAMP: String(n) })
      .map(([k, v]) => `${k}=${v}`).join('\n') + '\n\n').join('');
    mkdirSync(path.join(dir, 'journal'), { recursive: true });
    execFileSync('sh', ['-c', `"${REMOTE}" -o "${dir}/journal/remote.journal" -`], { input: exportText });
    const result = peruse(['--config', config, '--journal-dir', path.join(dir, 'journal'), '--show-missed', 'SSH[3]']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.match(/^missed SSH\[3\]: #\d+ .*Failed password for root from 192\.0\.2\.44/gm)).toHaveLength(2);
    expect(result.stdout).toMatch(/SSH\[3\]\s+filter_greaterOrEquals\s+2 → 0/);
    expect(existsSync(marker)).toBe(false);
  });

  it('reads the local journal through journalctl with --since, --until and --unit as given', () => {
    const argsFile = path.join(dir, 'journalctl-args');
    const fake = path.join(dir, 'fake-journalctl.sh');
    // prints one entry in journalctl's export format, and records how it was called
    writeFileSync(fake, `#!/bin/sh\necho "$@" > "${argsFile}"\nprintf '__CURSOR=s=1;i=1\\n__REALTIME_TIMESTAMP=${t0 + 5_000_000}\\nSYSLOG_IDENTIFIER=sshd\\nMESSAGE=Failed password for root from 198.51.100.9 port 1 ssh2\\n\\n'\n`);
    chmodSync(fake, 0o755);
    const local = path.join(dir, 'local.json');
    writeFileSync(local, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), journal: { journalctl: fake } }));
    const result = peruse(['--config', local, '--since', '-7d', '--until', 'today', '--unit', 'ssh.service', '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(argsFile, 'utf8').trim().split(' ')).toEqual(expect.arrayContaining(['-o', 'export', '--since=-7d', '--until=today', '--unit', 'ssh.service']));
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ source: 'local journal', entries: 1 });
    expect(summary.steps.find((s: { step: string }) => s.step === 'SSH[1]')).toMatchObject({ hits: 1, passes: 1 });
  });
});

