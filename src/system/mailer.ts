import type { Transporter } from 'nodemailer';
import type { Settings } from '../config/settings.js';
import type { Logger } from './log.js';
import type { Mailer, MailMessage } from './mailer-api.js';
import { spawnRunner, type CommandRunner } from './exec.js';

export interface MailerOptions {
  /** Pause before each retry; the message is dropped (and logged) after the last one. */
  retryDelaysMs?: readonly number[];
  /** Queue bound: under a flood, the oldest queued messages are dropped (and logged). */
  maxQueued?: number;
  /** Default bound of drain(). */
  drainTimeoutMs?: number;
  /** Runs the sendmail argv (tests may record). */
  runner?: CommandRunner;
}

const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

export interface QueuedMailer extends Mailer {
  /** Messages waiting or in flight. */
  readonly queued: number;
  /** Messages given up (retries exhausted, or dropped from a full queue). */
  readonly dropped: number;
  drain(timeoutMs?: number): Promise<void>;
}

interface Queued {
  message: MailMessage;
  attempts: number;
}

/**
 * Builds MIME messages with nodemailer (quoted-printable text, so long lines never break SMTP)
 * and sends them through the configured `smtp` server, or pipes them to the `sendmail` argv
 * exactly as given (Pyruse compat: nothing appended). Messages go through a queue sent by one
 * worker: send() returns at once, a failure is logged with its reason and retried with backoff.
 */
export function createMailer(settings: Settings, log: Logger, options: MailerOptions = {}): QueuedMailer {
  const email = settings.email;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxQueued = options.maxQueued ?? 1000;
  const runner = options.runner ?? spawnRunner;
  // nodemailer is loaded with the first message: check, test and a quiet daemon never pay for it
  let transports: Promise<{ composer: Transporter; smtp?: Transporter }> | undefined;
  const load = () => transports ??= import('nodemailer').then(({ default: nodemailer }) => ({
    composer: nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
    smtp: email.smtp ? nodemailer.createTransport({
      host: email.smtp.host, port: email.smtp.port ?? 25, secure: email.smtp.secure ?? false, auth: email.smtp.auth,
      // a local relay commonly has a self-signed certificate; a remote one must present a valid one
      tls: { rejectUnauthorized: !LOOPBACK.has(email.smtp.host) },
      connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000,
    }) : undefined,
  }));
  const mime = (m: MailMessage) => ({ from: email.from, to: email.to, subject: m.subject, text: m.text, html: m.html, textEncoding: m.encoding ?? 'quoted-printable' });

  const deliver = async (message: MailMessage): Promise<void> => {
    const { composer, smtp } = await load();
    if (smtp) {
      await smtp.sendMail(mime(message));
      return;
    }
    const built = await composer.sendMail(mime(message));
    const argv = email.sendmail ?? ['/usr/sbin/sendmail', '-t'];
    const result = await runner.run(argv, { stdin: built.message as Buffer, timeoutMs: (email.timeoutSeconds ?? 120) * 1000 });
    if (result.code !== 0) throw new Error(`${argv[0]} exited with ${result.code}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`);
  };

  const queue: Queued[] = [];
  let working: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let wakeRetry: (() => void) | undefined;
  let dropped = 0;
  /** Messages dropped from a full queue since that was last said: one line per episode, not per message. */
  let droppedFull = 0;
  const reportFullDrops = () => {
    if (droppedFull === 0) return;
    log.error(`email queue: ${droppedFull} message(s) were dropped while the queue was full (${maxQueued})`);
    droppedFull = 0;
  };
  let giveUpBefore = Infinity; // set by drain(): retries past this point are not waited for
  let abandoned = false; // drain() ran out of time: the worker stops after the message in flight

  const pause = (ms: number) => new Promise<void>((resolve) => {
    wakeRetry = resolve;
    retryTimer = setTimeout(resolve, ms);
  });

  const work = async () => {
    while (queue.length > 0 && !abandoned) {
      const item = queue[0]!;
      try {
        await deliver(item.message);
        queue.shift();
        if (queue.length < maxQueued / 2) reportFullDrops();
        if (item.attempts > 0) log.notice(`email "${item.message.subject}" sent after ${item.attempts + 1} attempts`);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        const delay = retryDelays[item.attempts];
        item.attempts++;
        if (delay === undefined || Date.now() + delay > giveUpBefore) {
          queue.shift();
          dropped++;
          log.error(`email "${item.message.subject}" dropped after ${item.attempts} attempts: ${reason}`);
          continue;
        }
        log.warn(`email "${item.message.subject}" failed (attempt ${item.attempts}), retrying in ${Math.round(delay / 1000)} s: ${reason}`);
        await pause(delay);
      }
    }
  };

  const kick = () => {
    working ??= work().finally(() => { working = undefined; if (queue.length > 0 && !abandoned) kick(); });
  };

  return {
    get queued() { return queue.length; },
    get dropped() { return dropped; },
    async send(message) {
      if (queue.length >= maxQueued) {
        // the head may be in flight: drop the oldest waiting one
        const oldest = queue.splice(1, 1)[0] ?? queue.shift();
        dropped++;
        if (droppedFull++ === 0) {
          log.error(`email queue full (${maxQueued} messages): dropping the oldest waiting ones from now on, first "${oldest?.message.subject}"; the count follows once sending catches up`);
        }
      }
      queue.push({ message, attempts: 0 });
      abandoned = false;
      kick();
    },
    async drain(timeoutMs = options.drainTimeoutMs ?? 15_000) {
      if (queue.length === 0 && !working) { reportFullDrops(); return; }
      giveUpBefore = Date.now() + timeoutMs;
      // a retry waiting past the deadline is cut short: one last attempt, then given up
      if (retryTimer && wakeRetry) { clearTimeout(retryTimer); wakeRetry(); }
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([
        (async () => { while (working) await working; })(),
        new Promise<void>((resolve) => { deadline = setTimeout(resolve, timeoutMs); }),
      ]);
      clearTimeout(deadline);
      if (working) {
        // a sendmail still hanging is killed by its deadline or by the caller's killRunningCommands()
        abandoned = true;
        if (retryTimer && wakeRetry) { clearTimeout(retryTimer); wakeRetry(); }
      }
      reportFullDrops();
      if (queue.length > 0) log.error(`${queue.length} email(s) not sent before exit`);
      giveUpBefore = Infinity;
    },
  };
}
