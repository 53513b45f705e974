// Annotated samples: what an entry is expected to do in the workflow, checked against what it did.
import type { Entry } from '../modules/api.js';
import type { Effect } from './effects.js';

/** What `peruse test` observed for one entry. */
export interface Observed {
  entry: Entry;
  /** Step labels in visiting order, with their results. */
  path: { step: string; result: boolean | 'done' | 'error' }[];
  effects: Effect[];
}

export const EXPECT_KEYS = ['reached', 'notReached', 'passed', 'failed', 'fields', 'ban', 'bans', 'noBan',
  'report', 'noReport', 'email', 'log', 'unhandled'] as const;

/**
 * The differences between an expectation and what happened, one readable block per key
 * (`- expected …` / `+ got …`); empty when everything holds. An unknown key is a difference too:
 * a misspelt expectation must not pass silently.
 */
export function compareExpectation(expect: unknown, seen: Observed): string[] {
  if (typeof expect !== 'object' || expect === null || Array.isArray(expect)) return ['expect: must be an object like {"reached": ["SSH[1]"], "ban": "1.2.3.4"}'];
  const e = expect as Record<string, unknown>;
  const out: string[] = [];
  const diff = (what: string, expected: string, got: string) => out.push(`${what}:\n    - expected ${expected}\n    + got      ${got}`);
  const reached = new Set(seen.path.map((s) => s.step));
  const passedSteps = new Set(seen.path.filter((s) => s.result === true || s.result === 'done').map((s) => s.step));
  const failedSteps = new Set(seen.path.filter((s) => s.result === false || s.result === 'error').map((s) => s.step));
  const pathText = seen.path.length === 0 ? '(no step)' : seen.path.map((s) => `${s.step}${s.result === true ? '✓' : s.result === false ? '✗' : s.result === 'done' ? '●' : '!'}`).join(' ');

  for (const key of Object.keys(e)) {
    if (!(EXPECT_KEYS as readonly string[]).includes(key)) out.push(`expect.${key}: unknown expectation (known: ${EXPECT_KEYS.join(', ')})`);
  }
  const labels = (key: string): string[] => {
    const v = e[key];
    return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
  };
  for (const label of labels('reached')) if (!reached.has(label)) diff('reached', `${label} reached`, `path ${pathText}`);
  for (const label of labels('notReached')) if (reached.has(label)) diff('notReached', `${label} not reached`, `path ${pathText}`);
  for (const label of labels('passed')) if (!passedSteps.has(label)) diff('passed', `${label} passed`, `path ${pathText}`);
  for (const label of labels('failed')) if (!failedSteps.has(label)) diff('failed', `${label} reached and failed`, `path ${pathText}`);

  if (e.fields !== undefined) {
    if (typeof e.fields !== 'object' || e.fields === null) out.push('expect.fields: must be an object of field → value (null: absent)');
    else {
      for (const [name, want] of Object.entries(e.fields as Record<string, unknown>)) {
        const got = seen.entry[name];
        const same = want === null ? got === undefined : got === want;
        if (!same) diff(`fields.${name}`, want === null ? '(absent)' : JSON.stringify(want), got === undefined ? '(absent)' : JSON.stringify(got));
      }
    }
  }

  const byKind = (kind: Effect['kind']) => seen.effects.filter((x) => x.kind === kind);
  const list = (effects: Effect[]) => (effects.length === 0 ? '(none)' : effects.map((x) => x.text).join('\n             '));
  const bans = byKind('ban');
  if (e.ban !== undefined || e.bans !== undefined) {
    const wanted = (e.bans !== undefined ? (Array.isArray(e.bans) ? e.bans : [e.bans]) : [e.ban]);
    const ok = wanted.length === bans.length && wanted.every((w, i) => banMatches(w, bans[i]!));
    if (!ok) diff('bans', wanted.map(banText).join(', '), list(bans));
  }
  if (e.noBan === true && bans.length > 0) diff('noBan', 'no ban', list(bans));

  const leveled = (key: string, kind: Effect['kind']) => {
    if (e[key] === undefined) return;
    const wanted = (Array.isArray(e[key]) ? e[key] as unknown[] : [e[key]]).map(String);
    const got = byKind(kind).map((x) => `${x.level}: ${x.message}`);
    if (wanted.length !== got.length || wanted.some((w, i) => w !== got[i])) {
      diff(key, wanted.join(' | '), got.length === 0 ? '(none)' : got.join(' | '));
    }
  };
  leveled('report', 'report');
  leveled('log', 'log');
  if (e.noReport === true && byKind('report').length > 0) diff('noReport', 'no report line', list(byKind('report')));
  if (e.email !== undefined) {
    const wanted = (Array.isArray(e.email) ? e.email : [e.email]) as unknown[];
    const got = byKind('email');
    const ok = wanted.length === got.length && wanted.every((w, i) => {
      const g = got[i]!;
      if (typeof w === 'string') return g.message === w;
      const o = (w ?? {}) as { subject?: string; text?: string };
      return (o.subject === undefined || o.subject === g.subject) && (o.text === undefined || o.text === g.message);
    });
    if (!ok) diff('email', wanted.map((w) => JSON.stringify(w)).join(', '), list(got));
  }
  if (e.unhandled !== undefined) {
    const unhandled = !seen.path.some((s) => s.result === 'done');
    if (unhandled !== e.unhandled) diff('unhandled', e.unhandled ? 'no action done' : 'some action done', `path ${pathText}`);
  }
  return out;
}

function banMatches(want: unknown, got: Effect): boolean {
  if (typeof want === 'string') return got.address === want;
  if (typeof want !== 'object' || want === null) return false;
  const w = want as { address?: string; set?: string; seconds?: number | null };
  return (w.address === undefined || w.address === got.address)
    && (w.set === undefined || w.set === got.set)
    && (w.seconds === undefined || w.seconds === got.seconds);
}

function banText(want: unknown): string {
  if (typeof want === 'string') return `ban ${want}`;
  const w = (want ?? {}) as { address?: string; set?: string; seconds?: number | null };
  return `ban ${w.address ?? '(any address)'}${w.set ? ` in "${w.set}"` : ''}${w.seconds !== undefined ? (w.seconds === null ? ' for ever' : ` for ${w.seconds} s`) : ''}`;
}
