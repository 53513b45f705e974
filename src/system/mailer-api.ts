/** What an action sees of email sending; the implementation lives in src/system/mailer.ts. */
export interface MailMessage {
  subject: string;
  text: string;
  html?: string;
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
