/** What an action sees of email sending; the implementation lives in src/system/mailer.ts. */
export interface MailMessage {
  subject: string;
  text: string;
  html?: string;
  /**
   * Body encoding; quoted-printable by default (readable in the raw message). The daily report is
   * sent base64: nodemailer's quoted-printable encoder took ~300 MB off the heap for a 1.5 MB
   * report inside the daemon (bench: memory.runPeakRss).
   */
  encoding?: 'quoted-printable' | 'base64';
}

export interface Mailer {
  /** Queues the message; resolves once handed to the queue (never blocks the chain on a slow server). */
  send(message: MailMessage): Promise<void>;
  /** Waits until every queued message is sent or given up, at most `timeoutMs` (replay exit, daemon stop). */
  drain?(timeoutMs?: number): Promise<void>;
}

/** Collects messages (dry-run and unit tests). */
export function memoryMailer(): Mailer & { sent: MailMessage[] } {
  const sent: MailMessage[] = [];
  return { sent, async send(m) { sent.push(m); } };
}
