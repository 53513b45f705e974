import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk } from '../helpers/cli.js';
import { createNetNs, nftElements, type NetNs } from './netns.js';

// The daily report of an attack by 30 000 addresses, built by the real workflow (the bench config,
// bans left out) from a generated day, then sent or found due under the systemd unit's heap cap.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const GEN = '/work/shared/corpus/gen-corpus.mjs';
const BENCH_CONFIG = '/work/shared/corpus/bench-config.json';
const REMOTE = '/usr/lib/systemd/systemd-journal-remote';
const UNIT_NODE_OPTIONS = /NODE_OPTIONS=([^"]+)"/.exec(readFileSync(path.join(ROOT, 'examples/systemd/peruse.service'), 'utf8'))![1]!;
const V4 = 'ip Inet4 ssh_ban', V6 = 'ip6 Inet6 ssh_ban';
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags interval,timeout; }; }\n';

interface Level { events: number; messages: Set<string> }

const root = mkdtempSync(path.join(tmpdir(), 'peruse-report-memory-'));
/** The report journal of the attack day, and what it holds, counted here line by line. */
let reportJournal = '';
const expected: Record<'WARN' | 'INFO' | 'OTHER', Level> = {
  WARN: { events: 0, messages: new Set() }, INFO: { events: 0, messages: new Set() }, OTHER: { events: 0, messages: new Set() },
};
let records = 0;

beforeAll(async () => {
  const corpus = path.join(root, 'day.jsonl');
  await runOk('node', [GEN, '--entries', '200000', '--attackers', '30000', '--hours', '23', '--seed', '19', '--format', 'json', '--out', corpus, '--truth', path.join(root, 'truth.json')]);
  const config = JSON.parse(readFileSync(BENCH_CONFIG, 'utf8')) as { actions: Record<string, { action?: string; args?: unknown }[]>; [key: string]: unknown };
  // no firewall here: the ban steps become no-ops, the report lines after them stay
  for (const steps of Object.values(config.actions)) for (const step of steps) if (step.action === 'action_nftBan') { step.action = 'action_noop'; step.args = {}; }
  const storage = path.join(root, 'day-storage');
  writeFileSync(path.join(root, 'day.json'), JSON.stringify({ ...config, nftBan: undefined, storage, email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Daily report', sendmail: ['false'] } }));
  await runOk('node', [PERUSE, 'replay', '--config', path.join(root, 'day.json'), '--input', corpus]);
  reportJournal = path.join(storage, 'peruse.report.jsonl');
  for (const line of readFileSync(reportJournal, 'utf8').split('\n')) {
    if (line === '') continue;
    const record = JSON.parse(line) as { level: 'WARN' | 'INFO' | 'OTHER'; message: string };
    records++;
    expected[record.level].events++;
    expected[record.level].messages.add(record.message);
  }
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const group = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

/** The base64 parts of a MIME message, decoded (UTF-8) and joined. */
function base64Parts(raw: string): string {
  return [...raw.matchAll(/^Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gm)].map((m) => Buffer.from(m[1]!.replace(/\s/g, ''), 'base64').toString('utf8')).join('\n');
}

async function startSmtp(): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => { received.push(Buffer.concat(chunks).toString('latin1')); callback(); });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the daily report of a 30 000-attacker day', () => {
  it('the day made a report journal of more than 100 000 lines from tens of thousands of addresses', () => {
    expect(records).toBeGreaterThan(100_000);
    expect(expected.WARN.messages.size + expected.INFO.messages.size).toBeGreaterThan(30_000);
  });

  it('under the unit\'s heap cap, report --send reaches a real SMTP server with the exact totals and a line saying how many rows were folded', async () => {
    const smtp = await startSmtp();
    try {
      const dir = path.join(root, 'send');
      mkdirSync(path.join(dir, 'storage'), { recursive: true });
      copyFileSync(reportJournal, path.join(dir, 'storage/peruse.report.jsonl'));
      writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
        actions: { A: [{ action: 'action_noop' }] }, storage: path.join(dir, 'storage'),
        email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Daily report', smtp: { host: '127.0.0.1', port: smtp.port } },
      }));
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('node', [PERUSE, 'report', '--send', '--config', path.join(dir, 'peruse.json')], { env: { ...process.env, NODE_OPTIONS: UNIT_NODE_OPTIONS } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`report of ${records} entries sent`);
      expect(smtp.received).toHaveLength(1);
      const mail = base64Parts(smtp.received[0]!);
      const { WARN, INFO, OTHER } = expected;
      const header = `WARN: ${group(WARN.messages.size)} messages (${group(WARN.events)} events), INFO: ${group(INFO.messages.size)} messages (${group(INFO.events)} events), OTHER: ${group(OTHER.events)} entries`;
      expect(mail).toContain(header);
      for (const level of [WARN, INFO]) {
        // the listed rows are the first 2 000 messages in code point order, with their exact counts
        const listed = [...level.messages].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, 2000);
        expect(mail).toContain(`|${listed[listed.length - 1]!}`);
        expect(mail).toMatch(new RegExp(`… and ${group(level.messages.size - 2000)} more messages, [0-9 ]+ events \\(${group(level.messages.size)} messages, ${group(level.events)} events in all\\)`));
      }
      // both parts carry the fold lines
      expect(mail.match(/more messages, [0-9 ]+ events \(/g)).toHaveLength(4);
      // sent: the report starts afresh, the sent one is kept for a look back
      expect(existsSync(path.join(dir, 'storage/peruse.report.jsonl'))).toBe(false);
      expect(readFileSync(path.join(dir, 'storage/peruse.report.sent.jsonl'), 'utf8')).toBe(readFileSync(reportJournal, 'utf8'));
    } finally {
      await smtp.close();
    }
  }, 120_000);

  describe('a daemon started with that report due and no mail server', () => {
    let ns: NetNs;
    beforeAll(() => {
      ns = createNetNs('report');
      ns.run(['nft', '-f', '-'], TABLES);
    });
    afterAll(() => ns?.remove());

    it('restores the stored bans, bans a new attacker, and logs the failed send', async () => {
      const dir = path.join(root, 'daemon');
      const storage = path.join(dir, 'storage');
      const journal = path.join(dir, 'journal');
      mkdirSync(storage, { recursive: true });
      mkdirSync(journal);
      copyFileSync(reportJournal, path.join(storage, 'peruse.report.jsonl'));
      const until = Date.now() / 1000 + 86400;
      writeFileSync(path.join(storage, 'bans-nft.json'), JSON.stringify({ version: 1, bans: Array.from({ length: 50 }, (_, i) => ({ set: V4, ip: `198.51.100.${i}`, until, reason: 'SSH[1]' })) }));
      // today's entries (the stored report is of an earlier day: due at the first one)
      const start = Date.now() * 1000 - 60_000_000;
      const entries = Array.from({ length: 200 }, (_, i) => {
        const time = start + i * 1000;
        const message = i % 50 === 7 ? `Failed password for root from 203.0.113.${i % 100} port 4${i} ssh2` : `Accepted publickey for alice from 10.0.1.${i % 200} port 5${i} ssh2`;
        return `__REALTIME_TIMESTAMP=${time}\n__MONOTONIC_TIMESTAMP=${time - 1_700_000_000_000_000}\n_BOOT_ID=c0ffee00c0ffee00c0ffee00c0ffee00\n_HOSTNAME=sshserv\nSYSLOG_IDENTIFIER=sshd\nMESSAGE=${message}\n\n`;
      }).join('');
      execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: entries, stdio: ['pipe', 'ignore', 'ignore'] });
      const config = path.join(dir, 'peruse.json');
      writeFileSync(config, JSON.stringify({
        actions: {
          SSH: [
            { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for [^ ]+ from ([^ ]+) port', save: ['thatIP'] } },
            { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: V4, nftSetIPv6: V6 } },
            { action: 'action_dailyReport', args: { level: 'WARN', message: 'Banned {thatIP}' } },
          ],
        },
        nftBan: { nft: [...ns.prefix, 'nft'] }, storage,
        journal: { directory: journal, since: `@${Math.floor(start / 1e6) - 1}` },
        email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Daily report', smtp: { host: '127.0.0.1', port: await closedPort() } },
      }));
      const daemon = spawn('node', [PERUSE, 'run', '--config', config], { env: { ...process.env, NODE_OPTIONS: UNIT_NODE_OPTIONS } });
      let stderr = '';
      daemon.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => daemon.on('close', resolve));
      try {
        // entries 7, 57, 107 and 157 fail: two attackers, twice each
        const wanted = ['203.0.113.7', '203.0.113.57'];
        const deadline = Date.now() + 60_000;
        const done = () => {
          const elements = nftElements(ns, V4);
          return wanted.every((ip) => elements.has(ip)) && /email "Daily report" failed \(attempt 1\).*ECONNREFUSED/.test(stderr);
        };
        while (!done() && Date.now() < deadline && daemon.exitCode === null) await new Promise((r) => setTimeout(r, 200));
        expect(daemon.exitCode, stderr).toBe(null);
        const elements = nftElements(ns, V4);
        for (let i = 0; i < 50; i++) expect(elements.has(`198.51.100.${i}`)).toBe(true);
        for (const ip of wanted) expect(elements.has(ip), stderr).toBe(true);
        expect(stderr).toMatch(/email "Daily report" failed \(attempt 1\).*ECONNREFUSED/);
        // the due report was rotated away: today's report holds only today's lines
        const today = readFileSync(path.join(storage, 'peruse.report.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message);
        expect(today).toEqual(['Banned 203.0.113.7', 'Banned 203.0.113.57', 'Banned 203.0.113.7', 'Banned 203.0.113.57']);
      } finally {
        daemon.kill('SIGTERM');
        await exited;
      }
    }, 120_000);
  });
});
