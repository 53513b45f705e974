import { describe, expect, it } from 'vitest';
import { Settings } from '../../src/config/settings.js';
import type { CommandRunner } from '../../src/system/exec.js';
import { memoryLogger } from '../../src/system/log.js';
import { createMailer } from '../../src/system/mailer.js';
import { memoryMailer } from '../../src/system/mailer-api.js';
import email from '../../actions/action_email.js';
import { fakeContext } from '../helpers/engine.js';

const settings = (extra: object = {}) => new Settings({ actions: {}, email: { from: 'peruse@example.org', to: ['admin@example.org'], subject: 'Peruse', sendmail: ['/usr/bin/msmtp', '-t', '--read-envelope-from'], ...extra } }, '/tmp/t.json');

/** A sendmail that fails a given number of times, recording argv and stdin. */
function flakyRunner(failures: number, delayMs = 0): CommandRunner & { calls: { argv: readonly string[]; stdin: string }[] } {
  const calls: { argv: readonly string[]; stdin: string }[] = [];
  return {
    calls,
    async run(argv, options = {}) {
      calls.push({ argv, stdin: String(options.stdin) });
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return calls.length <= failures ? { code: 75, stdout: '', stderr: 'temporary failure: relay down' } : { code: 0, stdout: '', stderr: '' };
    },
  };
}

describe('mailer', () => {
  it('runs the sendmail argv exactly as given, with the whole MIME message on stdin', async () => {
    const runner = flakyRunner(0);
    const mailer = createMailer(settings(), memoryLogger(), { runner });
    await mailer.send({ subject: 'Hello', text: 'x'.repeat(2000) });
    await mailer.drain();
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]!.argv).toEqual(['/usr/bin/msmtp', '-t', '--read-envelope-from']);
    const message = runner.calls[0]!.stdin;
    expect(message).toMatch(/^From: peruse@example\.org$/m);
    expect(message).toMatch(/^To: admin@example\.org$/m);
    expect(message).toMatch(/^Subject: Hello$/m);
    expect(message).toMatch(/^Content-Transfer-Encoding: quoted-printable$/m);
    // quoted-printable: no line longer than 76 characters, whatever the text
    expect(Math.max(...message.split('\n').map((l) => l.length))).toBeLessThanOrEqual(78);
  });

  it('send() returns at once while a slow sendmail is still running', async () => {
    const runner = flakyRunner(0, 300);
    const mailer = createMailer(settings(), memoryLogger(), { runner });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await mailer.send({ subject: `m${i}`, text: 't' });
    expect(performance.now() - started).toBeLessThan(100);
    expect(mailer.queued).toBe(5);
    await mailer.drain(10_000);
    expect(runner.calls.map((c) => /Subject: (\S+)/.exec(c.stdin)?.[1])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('a failure is logged with its reason and retried with backoff until it goes through', async () => {
    const runner = flakyRunner(2);
    const log = memoryLogger();
    const mailer = createMailer(settings(), log, { runner, retryDelaysMs: [20, 40, 80] });
    await mailer.send({ subject: 'Retry me', text: 't' });
    await mailer.drain(5_000);
    expect(runner.calls).toHaveLength(3);
    expect(mailer.dropped).toBe(0);
    expect(log.lines.filter((l) => l.includes('failed (attempt'))).toEqual([
      expect.stringContaining('/usr/bin/msmtp exited with 75: temporary failure: relay down'),
      expect.stringContaining('retrying in'),
    ]);
  });

  it('after the last retry the message is dropped, and said so', async () => {
    const log = memoryLogger();
    const mailer = createMailer(settings(), log, { runner: flakyRunner(99), retryDelaysMs: [10] });
    await mailer.send({ subject: 'Doomed', text: 't' });
    await mailer.drain(5_000);
    expect(mailer.dropped).toBe(1);
    expect(log.lines.some((l) => l.includes('email "Doomed" dropped after 2 attempts'))).toBe(true);
  });
  it('a full queue says once that it drops messages, then once how many, never a line per message', async () => {
    const log = memoryLogger();
    let release: () => void = () => {};
    const stuck: CommandRunner = { run: () => new Promise((resolve) => { release = () => resolve({ code: 0, stdout: '', stderr: '' }); }) };
    const mailer = createMailer(settings(), log, { runner: stuck, maxQueued: 10 });
    for (let i = 0; i < 500; i++) await mailer.send({ subject: `alert ${i}`, text: 'x' });
    expect(mailer.queued).toBe(10);
    expect(mailer.dropped).toBe(490);
    expect(log.lines.filter((l) => l.includes('email queue'))).toHaveLength(1);
    release();
    await mailer.drain(1000);
    const lines = log.lines.filter((l) => l.includes('email queue'));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/490 message\(s\) were dropped while the queue was full \(10\)/);
  });

  it('passes email.timeoutSeconds to sendmail as its deadline', async () => {
    const seen: (number | undefined)[] = [];
    const runner: CommandRunner = { async run(_argv, options) { seen.push(options?.timeoutMs); return { code: 0, stdout: '', stderr: '' }; } };
    const mailer = createMailer(settings({ timeoutSeconds: 2.5 }), memoryLogger(), { runner });
    await mailer.send({ subject: 's', text: 't' });
    await mailer.drain();
    expect(seen).toEqual([2500]);
  });

});

describe('action_email', () => {
  it('renders the template; without a subject it sends "Pyruse Notification" even when email.subject is set, as Pyruse does', () => {
    const mailer = memoryMailer();
    const action = email.create({ message: '[{n:^9d}] Failed login from {thatIP}.' }, fakeContext({ mailer, settings: settings() }));
    const before = performance.now();
    action.act({ n: 12, thatIP: '12.34.56.78' });
    expect(performance.now() - before).toBeLessThan(50);
    expect(mailer.sent).toEqual([{ subject: 'Pyruse Notification', text: '[   12    ] Failed login from 12.34.56.78.' }]);
  });

  it('Pyruse compat: without an email section the subject is "Pyruse Notification"', () => {
    const mailer = memoryMailer();
    email.create({ message: 'm' }, fakeContext({ mailer })).act({});
    expect(mailer.sent[0]!.subject).toBe('Pyruse Notification');
  });

  it('the subject argument wins over every default', () => {
    const mailer = memoryMailer();
    email.create({ message: 'm', subject: 'Failure notification' }, fakeContext({ mailer, settings: settings() })).act({});
    expect(mailer.sent[0]!.subject).toBe('Failure notification');
  });

  it('email.subject is the daily report subject, "Pyruse Report" when unset, as Pyruse does', () => {
    expect(settings().email.subject).toBe('Peruse');
    expect(new Settings({ actions: {} }, '/tmp/t.json').email.subject).toBe('Pyruse Report');
  });

  it('a bad template is a config error (E_BAD_TEMPLATE at message)', () => {
    expect(() => email.create({ message: 'unbalanced }' }, fakeContext())).toThrow(expect.objectContaining({ code: 'E_BAD_TEMPLATE', argsSubPath: 'message' }));
  });
});
