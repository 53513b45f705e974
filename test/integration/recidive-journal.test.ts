import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GENERATIONS } from '../../src/system/journal-writer.js';
import { createNetNs, nftElements, type NetNs } from './netns.js';

// Pyruse's documented recidive pattern (doc/logandban.md) under `peruse run`, end to end: a real
// systemd-journald of its own (a private mount namespace: tmpfs over /run/systemd and
// /var/log/journal, the host's journal untouched), action_log writing through systemd-cat, the
// daemon's stderr in that journal as under systemd, and real nft sets in a network namespace.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const JOURNALD = '/usr/lib/systemd/systemd-journald';
const MACHINE_ID = readFileSync('/etc/machine-id', 'utf8').trim();
const JOURNAL_DIR = `/var/log/journal/${MACHINE_ID}`;
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; set recidive_ban { type ipv4_addr; flags timeout; }; }\n'
  + 'table ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; set recidive_ban { type ipv6_addr; flags timeout; }; }\n';

/** journald in its own mount namespace; `flushed` + Storage=persistent: it writes to /var/log/journal at once. */
const JOURNALD_SCRIPT = `set -e
mount -t tmpfs tmpfs /run/systemd
mkdir /run/systemd/journal
touch /run/systemd/journal/flushed
mount -t tmpfs tmpfs /var/log/journal
printf '[Journal]\\nStorage=persistent\\nRateLimitBurst=0\\n' > /run/systemd/journald.conf
mount --bind /run/systemd/journald.conf /etc/systemd/journald.conf
exec ${JOURNALD}`;

interface JournalEntry { SYSLOG_IDENTIFIER?: string; MESSAGE?: string; PRIORITY?: string; _PID?: string }

let ns: NetNs;
let journald: ChildProcess;
let dir: string;
const inside = (argv: string[]) => ['nsenter', '-t', String(journald.pid), '-m', ...argv];

function run(argv: string[], input?: string): string {
  const [file, ...args] = inside(argv);
  const result = spawnSync(file!, args, { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Lines written to the private journal by a program called `ident`, as journald writes a stream. */
function log(ident: string, ...lines: string[]): void {
  run(['systemd-cat', '-t', ident], lines.join('\n') + '\n');
}

function journal(...matches: string[]): JournalEntry[] {
  const text = run(['journalctl', '-D', JOURNAL_DIR, '-o', 'json', '--no-pager', ...matches]);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEntry);
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const failures = (ip: string, n: number) => Array.from({ length: n }, (_, i) => `Failed password for root from ${ip} port ${40000 + i} ssh2`);

const CONFIG = (nft: readonly string[], storage: string) => ({
  storage,
  journal: { directory: JOURNAL_DIR },
  nftBan: { nft: [...nft, 'nft'] },
  actions: {
    SSH: [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'sshd' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for .* from (?P<thatIP>[0-9.]+) port' } },
      { action: 'action_counterRaise', args: { counter: 'ssh', for: 'thatIP', keepSeconds: 600, save: 'failures' } },
      { filter: 'filter_greaterOrEquals', args: { field: 'failures', value: 3 } },
      { action: 'action_counterReset', args: { counter: 'ssh', for: 'thatIP' } },
      { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 600, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } },
      { action: 'action_log', args: { message: 'Ban from SSH for {thatIP}.' } },
    ],
    // counts the lines the SSH chain wrote: the second ban of an address bans it for good
    Recidive: [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'peruse' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Ban from SSH for (?P<thatIP>[0-9.]+)\\.$' } },
      { action: 'action_counterRaise', args: { counter: 'recidive', for: 'thatIP', save: 'bans' } },
      { filter: 'filter_greaterOrEquals', args: { field: 'bans', value: 2 } },
      // Pyruse compat: banSeconds 0 is a permanent ban
      { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 0, nftSetIPv4: 'ip Inet4 recidive_ban', nftSetIPv6: 'ip6 Inet6 recidive_ban' } },
      { action: 'action_log', args: { level: 'NOTICE', message: 'Recidive ban from SSH for {thatIP}.' } },
    ],
    // matches its own output: every line it writes would start it again
    Echo: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^echo' } },
      { action: 'action_log', args: { message: 'echo {MESSAGE}' } },
    ],
    // would match the daemon's own diagnostics, which are not pushed through the chains
    Diagnostics: [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'peruse' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: 'following the journal|feedback loop' } },
      { action: 'action_log', args: { message: 'diagnostic seen' } },
    ],
  },
});

describe('the recidive chain of Pyruse\'s docs under peruse run, with a real journald', () => {
  let daemon: ChildProcess;
  let exited: Promise<number | null>;
  const daemonLines = () => journal(`_PID=${daemon.pid}`, 'SYSLOG_IDENTIFIER=peruse').map((e) => e.MESSAGE ?? '');

  beforeAll(async () => {
    ns = createNetNs('recidive');
    ns.run(['nft', '-f', '-'], TABLES);
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-recidive-'));
    journald = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', JOURNALD_SCRIPT], { stdio: 'ignore' });
    await waitFor('journald', () => spawnSync(inside(['test', '-S', '/run/systemd/journal/stdout'])[0]!, inside(['test', '-S', '/run/systemd/journal/stdout']).slice(1)).status === 0);
    writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify(CONFIG(ns.prefix, path.join(dir, 'storage'))));
    // as under systemd: the daemon's stderr is a journal stream under its own PID (systemd-cat execs it)
    const [file, ...args] = inside(['systemd-cat', '-t', 'peruse', 'node', PERUSE, 'run', '--config', path.join(dir, 'peruse.json')]);
    daemon = spawn(file!, args, { stdio: 'ignore' });
    exited = new Promise((resolve) => daemon.on('exit', (code) => resolve(code)));
    await waitFor('the daemon to follow the journal', () => daemonLines().some((l) => l.includes('following the journal')));
  }, 60_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await exited;
    }
    journald?.kill('SIGTERM');
    ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a rule that matches its own output writes a bounded number of lines, and the daemon warns and goes on', async () => {
    log('tester', 'echo start');
    await waitFor('the loop warning', () => daemonLines().some((l) => l.includes('feedback loop broken')));
    await new Promise((r) => setTimeout(r, 1000));
    const echoes = journal('SYSLOG_IDENTIFIER=peruse').filter((e) => e.MESSAGE?.startsWith('echo') && e._PID !== String(daemon.pid));
    expect(echoes).toHaveLength(MAX_GENERATIONS);
    expect(echoes.at(-1)!.MESSAGE).toBe(`${'echo '.repeat(MAX_GENERATIONS)}echo start`);
    expect(daemonLines().find((l) => l.includes('feedback loop broken'))).toMatch(/Echo\[1\]: feedback loop broken/);
    expect(daemon.exitCode).toBeNull();
  }, 30_000);

  it('the second ban of an address, counted on the lines action_log wrote, bans it for good in the recidive set', async () => {
    log('sshd', ...failures('203.0.113.7', 3), ...failures('198.51.100.3', 3));
    await waitFor('the first bans', () => nftElements(ns, 'ip Inet4 ssh_ban').size === 2);
    // one ban is no recidive
    await new Promise((r) => setTimeout(r, 1000));
    expect(nftElements(ns, 'ip Inet4 recidive_ban').size).toBe(0);

    log('sshd', ...failures('203.0.113.7', 3));
    await waitFor('the recidive ban', () => nftElements(ns, 'ip Inet4 recidive_ban').size > 0);
    const recidive = nftElements(ns, 'ip Inet4 recidive_ban');
    expect([...recidive.keys()]).toEqual(['203.0.113.7']);
    expect(recidive.get('203.0.113.7')).toBeUndefined(); // no timeout: permanent
    await waitFor('the recidive line', () => journal('SYSLOG_IDENTIFIER=peruse', 'PRIORITY=5').length > 0);
    expect(journal('SYSLOG_IDENTIFIER=peruse', 'PRIORITY=5').map((e) => e.MESSAGE)).toEqual(['Recidive ban from SSH for 203.0.113.7.']);
    expect(journal('SYSLOG_IDENTIFIER=peruse').filter((e) => e.MESSAGE?.startsWith('Ban from SSH')).map((e) => e.MESSAGE))
      .toEqual(['Ban from SSH for 203.0.113.7.', 'Ban from SSH for 198.51.100.3.', 'Ban from SSH for 203.0.113.7.']);
    // the permanent ban is in the ban store too (restored after a reboot)
    // (the store is written behind the firewall, within 500 ms: a loaded machine may take longer)
    const recidiveRow = () => (JSON.parse(execFileSync('node', [PERUSE, 'bans', 'list', '--json', '--config', path.join(dir, 'peruse.json')], { encoding: 'utf8' })) as
      { set: string; ip: string; remainingSeconds: number | null }[]).find((r) => r.set === 'ip Inet4 recidive_ban');
    await waitFor('the recidive ban in the store', () => recidiveRow() !== undefined);
    expect(recidiveRow()).toMatchObject({ ip: '203.0.113.7', remainingSeconds: null });
  }, 60_000);

  it('the daemon\'s own diagnostics are not pushed through the chains, and it stops cleanly', async () => {
    expect(daemonLines().some((l) => l.includes('following the journal'))).toBe(true);
    expect(journal('SYSLOG_IDENTIFIER=peruse').filter((e) => e.MESSAGE === 'diagnostic seen')).toEqual([]);
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
