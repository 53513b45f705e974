// Groups log lines that differ only by addresses, numbers, hex ids: what `peruse test` shows of
// the entries no chain handled, so an admin sees which kinds of line their rules miss.
import type { Entry } from '../modules/api.js';

const MASKS: [RegExp, string][] = [
  [/\b(?:[0-9a-f]{2}:){5,}[0-9a-f]{2}\b/gi, '<mac>'],
  [/\b\d{1,2}:\d\d:\d\d(?:\.\d+)?\b/g, '<time>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, '<ip>'],
  [/\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b|\b[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}:?)*\b/gi, '<ip>'],
  [/\b[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\d+/g, '<n>'],
];

/** `sshd: Connection closed by <ip> port <n> [preauth]` */
export function similarityKey(entry: Entry): string {
  let message = String(entry.MESSAGE ?? '');
  for (const [re, mask] of MASKS) message = message.replace(re, mask);
  const who = entry.SYSLOG_IDENTIFIER === undefined ? '' : `${String(entry.SYSLOG_IDENTIFIER)}: `;
  return `${who}${message.length > 200 ? message.slice(0, 200) + '…' : message}`;
}

/** Counts by key, keeping the first example of each; the biggest groups first. */
export class Groups<T> {
  private readonly groups = new Map<string, { count: number; example: T }>();

  add(key: string, example: T): void {
    const group = this.groups.get(key);
    if (group) group.count++;
    else this.groups.set(key, { count: 1, example });
  }

  get size(): number {
    return this.groups.size;
  }

  top(limit = Infinity): { key: string; count: number; example: T }[] {
    return [...this.groups].map(([key, g]) => ({ key, ...g })).sort((a, b) => b.count - a.count).slice(0, limit);
  }
}
