// The scenario of Pyruse's own integration test, through the real `peruse replay` CLI:
// logins on two hosts, a successful login resetting the failure counter, an immediate email for
// a failure on an existing user, an INFO report line for an unknown user, a ban at the third
// failure within 600 s, and the entries no chain handled landing in the catch-all chain.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');

const config = {
  actions: {
    'Discard debug': [
      { filter: 'filter_greaterOrEquals', args: { field: 'PRIORITY', value: 7 } },
      { action: 'action_noop' },
    ],
    'SSH logins': [
      { filter: 'filter_equals', args: { field: '_SYSTEMD_UNIT', value: 'sshd.service' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Accepted (?:password|publickey) for (?P<thatUser>[^ ]+) from (?P<thatIP>[^ ]+) port' }, else: 'SSH failures' },
      { action: 'action_counterReset', args: { counter: 'ssh', for: 'thatIP', graceSeconds: 5 } },
      { action: 'action_dailyReport', args: { level: 'INFO', message: 'SSH login for {thatUser} from {thatIP} on {_HOSTNAME}', details: 'NONE' } },
    ],
    'SSH failures': [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for invalid user (?P<thatUser>[^ ]+) from (?P<thatIP>[^ ]+) port' }, else: 'SSH existing user' },
      { action: 'action_dailyReport', args: { level: 'INFO', message: 'Unknown SSH user {thatUser} from {thatIP}', details: 'FIRSTLAST' }, then: 'SSH count' },
    ],
    'SSH existing user': [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for (?P<thatUser>[^ ]+) from (?P<thatIP>[^ ]+) port' }, else: 'Catch-all' },
      { action: 'action_email', args: { subject: 'SSH failure on an existing user', message: 'Failed SSH login for existing user {thatUser} from {thatIP} on {_HOSTNAME}.' }, then: 'SSH count' },
    ],
    'SSH count': [
      { action: 'action_counterRaise', args: { counter: 'ssh', for: 'thatIP', keepSeconds: 600, save: 'sshFails' } },
      { filter: 'filter_greaterOrEquals', args: { field: 'sshFails', value: 3 }, else: 'End' },
      { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 86400, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
    ],
    End: [{ action: 'action_noop' }],
    'Catch-all': [
      { action: 'action_dailyReport', args: { level: 'OTHER', message: '[{PRIORITY}] {_HOSTNAME}/{SYSLOG_IDENTIFIER}: {MESSAGE}' } },
    ],
    'Everything else': [
      { action: 'action_dailyReport', args: { level: 'OTHER', message: '[{PRIORITY}] {_HOSTNAME}/{SYSLOG_IDENTIFIER}: {MESSAGE}' } },
    ],
  },
  email: { from: 'pyruse@example.org', to: ['hostmaster@example.org'], subject: 'Pyruse Notification', sendmail: ['/bin/sh', '-c', 'cat >>email.dump'] },
  nftBan: { nft: ['/bin/sh', '-c', 'printf "%s\\n" "$*" >>nft.cmd', 'nft'] },
  storage: '.',
};

const S = 1_000_000;
const T0 = new Date(2026, 0, 1, 10, 0, 0).getTime() * 1000;
let seq = 0;
const entry = (seconds: number, host: string, message: string, unit = 'sshd.service', ident = 'sshd', priority = 5) => ({
  __REALTIME_TIMESTAMP: String(T0 + seconds * S), __CURSOR: `s=test;i=${++seq}`, _HOSTNAME: host,
  _SYSTEMD_UNIT: unit, SYSLOG_IDENTIFIER: ident, PRIORITY: String(priority), MESSAGE: message,
});
const entries = [
  /* 1 */ entry(0, 'host1', 'Failed password for invalid user ghost from 198.51.100.7 port 40001 ssh2'),
  /* 2 */ entry(10, 'host2', 'Failed password for alice from 203.0.113.5 port 40002 ssh2'),
  /* 3 */ entry(20, 'host1', 'Failed password for alice from 203.0.113.5 port 40003 ssh2'),
  /* 4 */ entry(30, 'host2', 'Accepted password for alice from 203.0.113.5 port 40004 ssh2'),
  /* 5 */ entry(40, 'host1', 'Failed password for alice from 203.0.113.5 port 40005 ssh2'),
  /* 6 */ entry(50, 'host2', 'Failed password for invalid user ghost from 198.51.100.7 port 40006 ssh2'),
  /* 7 */ entry(60, 'host1', 'pam_unix(cron:session): session opened for user root', 'cron.service', 'CRON', 6),
  /* 8 */ entry(70, 'host2', 'Failed password for invalid user admin from 198.51.100.7 port 40007 ssh2'),
  /* 9 */ entry(100, 'host1', 'Failed password for invalid user x from 192.0.2.9 port 40008 ssh2'),
  /* 10 */ entry(500, 'host1', 'Failed password for invalid user x from 192.0.2.9 port 40009 ssh2'),
  /* 11 */ entry(800, 'host1', 'Failed password for invalid user x from 192.0.2.9 port 40010 ssh2'),
  /* 12 */ entry(900, 'host2', 'debug noise', 'cron.service', 'CRON', 7),
  /* 13 */ entry(910, 'host2', 'Server listening on :: port 22.', 'sshd.service', 'sshd', 6),
];

interface TraceLine { line: number; steps: { step: string; result: unknown }[]; fields: Record<string, unknown>; effects?: string[] }

describe('the Pyruse integration scenario, replayed', () => {
  let dir: string;
  let traces: TraceLine[];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-scenario-'));
    writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify(config, null, 1));
    writeFileSync(path.join(dir, 'entries.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const dry = spawnSync('node', [peruse, 'replay', '--config', 'peruse.json', '--input', 'entries.jsonl', '--dry-run', '--trace'], { cwd: dir, encoding: 'utf8' });
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    traces = dry.stdout.trim().split('\n').map((l) => JSON.parse(l) as TraceLine);
    // a dry run writes nothing: no report journal, no email, no ban, no state
    expect(readdirSync(dir).sort()).toEqual(['entries.jsonl', 'peruse.json']);
    const real = spawnSync('node', [peruse, 'replay', '--config', 'peruse.json', '--input', 'entries.jsonl'], { cwd: dir, encoding: 'utf8' });
    expect(real.status).toBe(0);
  }, 60_000);

  const effects = (n: number) => traces[n - 1]!.effects ?? [];
  const bans = () => traces.flatMap((t, i) => (t.effects ?? []).filter((e) => e.startsWith('would run') && e.includes('add element')).map((e) => [i + 1, e] as const));

  it('counts failures per address across both hosts, and bans at the third within 600 s', () => {
    expect(traces.map((t) => t.fields.sshFails)).toEqual([1, 1, 2, undefined, 1, 2, undefined, 3, 1, 2, 2, undefined, undefined]);
    expect(bans()).toEqual([[8, expect.stringContaining('198.51.100.7')]]);
    expect(readFileSync(path.join(dir, 'nft.cmd'), 'utf8')).toMatch(/^add element ip Inet4 ssh_ban \{ ?198\.51\.100\.7 timeout 86400s ?\}$/m);
  });

  it('a successful login resets the failure counter of its address', () => {
    // 203.0.113.5 failed twice, logged in, failed again: the count restarts at 1, no ban
    expect(traces[4]!.fields.sshFails).toBe(1);
    expect(bans().some(([, e]) => e.includes('203.0.113.5'))).toBe(false);
  });

  it('failures spread over more than 600 s never reach the ban', () => {
    expect(bans().some(([, e]) => e.includes('192.0.2.9'))).toBe(false);
  });

  it('a failure on an existing user sends an email at once', () => {
    expect(effects(2)).toContain('would email: {"subject":"SSH failure on an existing user","text":"Failed SSH login for existing user alice from 203.0.113.5 on host2."}');
    const dump = readFileSync(path.join(dir, 'email.dump'), 'utf8');
    expect(dump.match(/^Subject: SSH failure on an existing user$/gm)).toHaveLength(3);
    expect(dump).toContain('Failed SSH login for existing user alice from 203.0.113.5 on host1.');
  });

  it('an unknown user gets an INFO line in the daily report, not an email', () => {
    expect(effects(1)).toEqual(['would add to the daily report: INFO: Unknown SSH user ghost from 198.51.100.7']);
    const report = spawnSync('node', [peruse, 'report', '--preview', '--config', 'peruse.json'], { cwd: dir, encoding: 'utf8' });
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/^\|2\n\|Unknown SSH user ghost from 198\.51\.100\.7\n\|From : .*\nUntil: /m);
    expect(report.stdout).toContain('SSH login for alice from 203.0.113.5 on host2');
  });

  it('entries no chain handled land in the catch-all chain, debug entries are discarded', () => {
    expect(traces[6]!.steps.map((s) => s.step)).toEqual(['Discard debug[0]', 'SSH logins[0]', 'Everything else[0]']);
    expect(effects(7)).toEqual(['would add to the daily report: OTHER: [6] host1/CRON: pam_unix(cron:session): session opened for user root']);
    expect(traces[12]!.steps.at(-1)!.step).toBe('Catch-all[0]'); // an sshd line no SSH pattern knows
    expect(traces[11]!.steps.map((s) => s.step)).toEqual(['Discard debug[0]', 'Discard debug[1]']);
    const report = spawnSync('node', [peruse, 'report', '--preview', '--format', 'html', '--config', 'peruse.json'], { cwd: dir, encoding: 'utf8' });
    expect(report.stdout).toContain('Server listening on :: port 22.');
    expect(report.stdout).not.toContain('debug noise');
  });
});
