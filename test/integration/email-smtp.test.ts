import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');

interface Received { from: string; to: string[]; raw: string }

/** A real SMTP server on loopback; `failFirst` rejects that many DATA commands with a 451. */
async function startSmtp(failFirst = 0): Promise<{ port: number; received: Received[]; attempts: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        attempts++;
        if (attempts <= failFirst) {
          const error = Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 });
          callback(error);
          return;
        }
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, attempts: () => attempts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The base64 parts of a MIME message, decoded (UTF-8), in order. */
function base64Parts(raw: string): string[] {
  return [...raw.matchAll(/^Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gm)].map((m) => Buffer.from(m[1]!.replace(/\s/g, ''), 'base64').toString('utf8'));
}

/** Decodes a quoted-printable body. */
function unQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const S = 1_000_000;
const T0 = 1_767_225_600 * S;
const seedEntries = [
  { __REALTIME_TIMESTAMP: String(T0), _HOSTNAME: 'dmz', SYSLOG_IDENTIFIER: 'kernel', PRIORITY: '4', MESSAGE: 'DNAT/ssh: IN=eth0 OUT=eth1 SRC=12.34.56.78 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=43210 DPT=22 WINDOW=64240 ' },
  { __REALTIME_TIMESTAMP: String(T0 + 0.2 * S), _HOSTNAME: 'sshserv', SYSLOG_IDENTIFIER: 'sshd', PRIORITY: '5', _SYSTEMD_UNIT: 'sshd.service', MESSAGE: 'Failed password for ME from 10.0.0.1 port 43210 ssh2' },
  { __REALTIME_TIMESTAMP: String(T0 + 0.3 * S), _HOSTNAME: 'dmz', SYSLOG_IDENTIFIER: 'sshd', PRIORITY: '5', _SYSTEMD_UNIT: 'sshd.service', MESSAGE: 'Failed password for KeyUser from 87.65.43.21 port 24680 ssh2' },
];

function writeConfig(dir: string, port: number): string {
  const config = {
    actions: {
      Capture: [
        { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'kernel' } },
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^DNAT/ssh:.* SRC=([^ ]+) DST=([^ ]+) .* SPT=([^ ]+) DPT=([^ ]+) ', save: ['dnatSaddr', 'dnatAddr', 'dnatPort', 'dnatDport'] } },
        { action: 'action_dnatCapture', args: { saddr: 'dnatSaddr', addr: 'dnatAddr', addrValue: '127.0.0.1', port: 'dnatPort', dport: 'dnatDport', dportValue: '22' } },
      ],
      SSH: [
        { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'sshd' } },
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for (.*) from ([^ ]+) port ([^ ]+) ssh2$', save: ['sshUser', 'clientIP', 'clientPort'] } },
        { action: 'action_dnatReplace', args: { addr: 'clientIP', port: 'clientPort', saddrInto: 'clientIP' } },
        { action: 'action_email', args: { subject: 'SSH attack', message: 'SSH attack from {clientIP} on {sshUser}@{_HOSTNAME}.\nLog line, padded into one very long line: {MESSAGE:>1500}' } },
      ],
    },
    email: { from: 'peruse@example.org', to: ['hostmaster@example.org', 'second@example.org'], subject: 'Peruse', smtp: { host: '127.0.0.1', port } },
    storage: dir,
  };
  const file = path.join(dir, 'peruse.json');
  writeFileSync(file, JSON.stringify(config, null, 1));
  writeFileSync(path.join(dir, 'seed.jsonl'), seedEntries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return file;
}

function replay(dir: string, config: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [peruse, 'replay', '--config', config, '--input', path.join(dir, 'seed.jsonl')], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('action_email through a real SMTP server on loopback', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let dir: string;
  let result: { code: number | null; stderr: string };

  beforeAll(async () => {
    smtp = await startSmtp();
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-smtp-'));
    result = await replay(dir, writeConfig(dir, smtp.port));
  }, 60_000);
  afterAll(async () => { await smtp.close(); });

  it('the replay exits only after both emails were delivered', () => {
    expect(result.code).toBe(0);
    expect(smtp.received).toHaveLength(2);
  });

  it('the received message has the configured envelope and headers', () => {
    const first = smtp.received[0]!;
    expect(first.from).toBe('peruse@example.org');
    expect(first.to).toEqual(['hostmaster@example.org', 'second@example.org']);
    expect(first.raw).toMatch(/^From: peruse@example\.org\r?$/m);
    expect(first.raw).toMatch(/^To: hostmaster@example\.org, second@example\.org\r?$/m);
    expect(first.raw).toMatch(/^Subject: SSH attack\r?$/m);
    expect(first.raw).toMatch(/^Content-Transfer-Encoding: quoted-printable\r?$/m);
  });

  it('a 1500-character line of text travels as quoted-printable lines of at most 76 characters, intact', () => {
    const raw = smtp.received[0]!.raw;
    expect(Math.max(...raw.split(/\r?\n/).map((l) => l.length))).toBeLessThanOrEqual(78);
    expect(unQuotedPrintable(raw)).toContain(' '.repeat(1400) + 'Failed password for ME from 10.0.0.1 port 43210 ssh2');
  });

  it('the body names the real client behind the DNAT, and the direct attacker as is', () => {
    const bodies = smtp.received.map((m) => unQuotedPrintable(m.raw));
    expect(bodies[0]).toContain('SSH attack from 12.34.56.78 on ME@sshserv.');
    expect(bodies[1]).toContain('SSH attack from 87.65.43.21 on KeyUser@dmz.');
    expect(bodies.join('\n')).not.toContain('SSH attack from 10.0.0.1');
  });
});

describe('a failing SMTP server', () => {
  it('the failure is logged with the server\'s reason, and the message is retried until delivered', async () => {
    const smtp = await startSmtp(1);
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'peruse-smtp-'));
      const result = await replay(dir, writeConfig(dir, smtp.port));
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/email "SSH attack" failed \(attempt 1\), retrying in \d+ s: .*451 mailbox busy, try later/);
      expect(smtp.received).toHaveLength(2);
      expect(smtp.attempts()).toBe(3);
    } finally {
      await smtp.close();
    }
  }, 60_000);

  it('with no server listening, the replay still ends, saying the email was dropped', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await smtp.close();
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-smtp-'));
    const started = Date.now();
    const result = await replay(dir, writeConfig(dir, port));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.stderr).toMatch(/dropped after \d+ attempts/);
    expect(Date.now() - started).toBeLessThan(50_000);
  }, 60_000);
});

describe('peruse report --send through a real SMTP server', () => {
  it('sends one message with a text and an HTML part, then starts a new report', async () => {
    const smtp = await startSmtp();
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'peruse-smtp-'));
      const config = writeConfig(dir, smtp.port);
      const t = Date.UTC(2026, 0, 1, 12) * 1000;
      writeFileSync(path.join(dir, 'peruse.report.jsonl'), [
        { level: 'WARN', time: t, message: 'Banned 203.0.113.9 after 3 SSH failures', details: 'FIRST' },
        { level: 'OTHER', time: t + 1, message: '[3] web1/uwsgi: <oops>', details: 'ALL' },
      ].map((r) => JSON.stringify(r)).join('\n') + '\n');
      // asynchronous: the SMTP server lives in this very process
      const result = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn('node', [peruse, 'report', '--send', '--config', config], { cwd: dir });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        child.on('close', (status) => resolve({ status, stderr }));
      });
      expect(result.stderr).toContain('report of 2 entries sent to hostmaster@example.org, second@example.org');
      expect(result.status).toBe(0);
      expect(smtp.received).toHaveLength(1);
      const raw = smtp.received[0]!.raw;
      expect(raw).toMatch(/^Subject: Peruse\r?$/m);
      expect(raw).toMatch(/Content-Type: multipart\/alternative/);
      expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8/);
      expect(raw).toMatch(/Content-Type: text\/html; charset=utf-8/);
      // the report's parts go base64 (nodemailer's quoted-printable encoder is costly on a big report;
      // a short pure-ASCII part stays 7bit)
      expect(raw).not.toMatch(/Content-Transfer-Encoding: quoted-printable/);
      const body = [raw, ...base64Parts(raw)].join('\n');
      expect(body).toContain('|Banned 203.0.113.9 after 3 SSH failures');
      expect(body).toContain('[3] web1/uwsgi: &lt;oops&gt;');
      const preview = spawnSync('node', [peruse, 'report', '--preview', '--config', config], { cwd: dir, encoding: 'utf8' });
      expect(preview.stdout).toContain('WARN: 0 messages (0 events)');
    } finally {
      await smtp.close();
    }
  }, 60_000);
});
