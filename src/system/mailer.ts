import nodemailer from 'nodemailer';
import type { Settings } from '../config/settings.js';
import type { Logger } from './log.js';
import type { Mailer, MailMessage } from './mailer-api.js';
import { spawnRunner } from './exec.js';

/**
 * Builds MIME messages with nodemailer (quoted-printable text, so long lines never break SMTP)
 * and sends them through the configured `smtp` server, or pipes them to the `sendmail` argv
 * exactly as given (Pyruse compat: nothing appended).
 */
export function createMailer(settings: Settings, log: Logger): Mailer {
  const email = settings.email;
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const smtp = email.smtp ? nodemailer.createTransport({ host: email.smtp.host, port: email.smtp.port ?? 25, secure: email.smtp.secure ?? false, auth: email.smtp.auth, tls: { rejectUnauthorized: false } }) : undefined;
  const envelope = (m: MailMessage) => ({ from: email.from, to: email.to, subject: m.subject, text: m.text, html: m.html, textEncoding: 'quoted-printable' as const });
  return {
    async send(message) {
      if (smtp) {
        await smtp.sendMail(envelope(message));
        return;
      }
      const built = await composer.sendMail(envelope(message));
      const argv = email.sendmail ?? ['/usr/sbin/sendmail', '-t'];
      const result = await spawnRunner.run(argv, { stdin: built.message as Buffer });
      if (result.code !== 0) {
        log.error(`email "${message.subject}": ${argv[0]} exited with ${result.code}: ${result.stderr.trim()}`);
        throw new Error(`sendmail failed (${result.code})`);
      }
    },
  };
}
