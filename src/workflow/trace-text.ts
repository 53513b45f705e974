import type { Entry } from '../modules/api.js';
import { formatTimestamp } from '../text/template.js';
import type { TraceStep } from './trace.js';

const MARK: Record<string, string> = { true: '✓', false: '✗', done: '●', error: '!' };

/** `SSH[2]` → chain `SSH`, index 2. */
export function splitLabel(label: string): { chain: string; index: string } {
  const m = /^(.*)\[(\d+)\]$/s.exec(label);
  return m ? { chain: m[1]!, index: m[2]! } : { chain: label, index: '' };
}

/** One line naming an entry: where it was read, its time, host, identifier and message. */
export function entryHeadline(entry: Entry, where: string): string {
  const time = typeof entry.__REALTIME_TIMESTAMP === 'number' ? formatTimestamp(entry.__REALTIME_TIMESTAMP) : '(no time)';
  const who = [entry._HOSTNAME, entry.SYSLOG_IDENTIFIER].filter((v) => v !== undefined).join(' ');
  return `${where}  ${time}  ${who}${who ? ': ' : ''}${String(entry.MESSAGE ?? '')}`;
}

/**
 * The path of one entry as a tree a person reads: one branch per chain visited, its steps with
 * ✓ passed, ✗ failed, ● action done, ! error; then the fields the workflow set and its effects.
 */
export function formatTraceTree(entry: Entry, where: string, steps: readonly TraceStep[],
  changed: Record<string, unknown>, effects: readonly string[]): string {
  const branches: { chain: string; marks: string[] }[] = [];
  for (const step of steps) {
    const { chain, index } = splitLabel(step.step);
    const mark = `[${index}]${MARK[String(step.result)]}`;
    const last = branches[branches.length - 1];
    if (last && last.chain === chain) last.marks.push(mark);
    else branches.push({ chain, marks: [mark] });
  }
  const lines = [entryHeadline(entry, where)];
  const tail: string[] = [];
  const fields = Object.entries(changed).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  if (fields.length > 0) tail.push(`fields: ${fields.join(' ')}`);
  tail.push(...effects);
  if (branches.length === 0) lines.push('└─ (no step)');
  branches.forEach((b, i) => {
    const isLast = i === branches.length - 1;
    lines.push(`${isLast ? '└─' : '├─'} ${b.chain}  ${b.marks.join(' ')}`);
  });
  for (const t of tail) lines.push(`   ${t}`);
  return lines.join('\n');
}
