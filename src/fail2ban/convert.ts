// A fail2ban jail → peruse chains. The jail's filter becomes a chain of regex steps on MESSAGE
// (prefregex, then failregex groups in their order, ignoreregex first), its maxretry/findtime a
// counter, its bantime a ban, its ignoreip a never-banned list, its actions bans and mails; lines
// of one session (<F-MLFID>) share their host through a session memory.
import { compilePattern } from '../text/regex.js';
import { loadFilter, parseFilterReference, type FilterDefinition } from './filter.js';
import type { Jail } from './jails.js';
import { parseDuration } from './jails.js';
import { banSteps } from './actions.js';
import { HOST_FIELD, translateFailregex, type TranslatedRegex } from './regex.js';

export type Step = Record<string, unknown>;
export type Chains = Record<string, Step[]>;

export interface JailReport {
  jail: string;
  status: 'converted' | 'converted with warnings' | 'not converted';
  filter?: string;
  /** The filter's mode in this jail (`filter = sshd[mode=…]`, else the filter's own). */
  mode?: string;
  notes: string[];
  /** The step every failure of this jail reaches (what `peruse test --show-matches` names). */
  failureStep?: string;
  /** nft / ipset sets the bans go into, to create before running. */
  sets: string[];
}

export interface ConvertOptions {
  /** fail2ban's configuration directory. */
  dir: string;
}

const SESSION_FIELDS = ['mlfid', '_HOSTNAME', 'SYSLOG_IDENTIFIER', '_PID'];
const SESSION_SECONDS = 600;
/** The fail2ban-shaped line the regexes run on. */
const LINE_FIELD = 'line';

/** One jail's chains (added to `chains`) and its report. */
export function convertJail(jail: Jail, options: ConvertOptions, chains: Chains): JailReport {
  const notes: string[] = [];
  const report: JailReport = { jail: jail.name, status: 'converted', notes, sets: [] };
  const fail = (why: string): JailReport => ({ ...report, status: 'not converted', notes: [...notes, why] });

  const filterText = (jail.get('filter') ?? jail.name).trim();
  let filter: FilterDefinition;
  try {
    const ref = parseFilterReference(filterText);
    report.filter = ref.name;
    // fail2ban reads a systemd-backend jail's lines in the journal's shape
    if ((jail.get('backend') ?? '').trim().startsWith('systemd') && ref.params.logtype === undefined) ref.params.logtype = 'journal';
    filter = loadFilter(options.dir, ref.name, ref.params);
  } catch (e) {
    return fail(`filter "${filterText}": ${(e as Error).message}`);
  }
  report.mode = filter.mode;
  if (filter.failregex.length === 0) return fail(`filter ${filter.name} has no failregex`);
  if (filter.maxlines > 1) notes.push(`maxlines = ${filter.maxlines}: lines are matched one at a time (multi-line buffers are not converted)`);

  let maxretry: number, findSeconds: number, banSeconds: number | undefined;
  try {
    maxretry = Number((jail.get('maxretry') ?? '5').trim());
    if (!Number.isInteger(maxretry) || maxretry < 1) throw new Error(`maxretry "${jail.get('maxretry')}" is not a whole number ≥ 1`);
    findSeconds = parseDuration(jail.get('findtime') ?? '10m') ?? 86400 * 365;
    banSeconds = parseDuration(jail.get('bantime') ?? '10m');
  } catch (e) {
    return fail((e as Error).message);
  }

  const name = jail.name;
  const c = (suffix: string) => `${name}: ${suffix}`;
  const backend = (jail.get('backend') ?? 'auto').trim();
  const logpath = (jail.get('logpath') ?? '').trim();
  if (backend.startsWith('systemd')) {
    if (filter.journalmatch.length === 0) notes.push('backend systemd without journalmatch: every journal entry is tried');
  } else if (logpath !== '') {
    notes.push(`reads ${logpath.split(/\s+/).join(', ')}: peruse reads the journal, so this service must log there (under systemd it does when it writes to stdout/syslog; else forward the file with rsyslog's omjournal)`);
  }

  // the regexes, checked one by one: a regex peruse cannot take is left out and said
  const usable = (source: string, what: string): boolean => {
    try { compilePattern(source); return true; } catch (e) {
      notes.push(`${what} left out: ${(e as Error).message.split('\n')[0]}`);
      return false;
    }
  };
  let prefix: TranslatedRegex | undefined;
  if (filter.prefregex) {
    try { prefix = translateFailregex(filter.prefregex); } catch (e) { return fail(`prefregex: ${(e as Error).message}`); }
    if (prefix.sources.length !== 1 || !usable(prefix.sources[0]!, 'prefregex')) return fail('prefregex cannot be converted');
  }
  const sessions = filter.prefregex?.includes('<F-MLFID>') === true || filter.failregex.some((r) => r.includes('<F-MLFID>'));
  const field = prefix && filter.prefregex!.includes('<F-CONTENT>') ? 'content' : LINE_FIELD;
  const prefixHasHost = prefix?.hasHost === true;

  // fail2ban tries the failregexes in order, the first match wins; consecutive ones of the same
  // shape (with a host, or without one and taking it from the session) share a step
  type Shape = 'host' | 'no host';
  const groups: { shape: Shape; re: string[] }[] = [];
  const seen = { noFail: false, forget: false, gained: false };
  filter.failregex.forEach((regex, i) => {
    let t: TranslatedRegex;
    try { t = translateFailregex(regex); } catch (e) { notes.push(`failregex ${i + 1} left out: ${(e as Error).message}`); return; }
    const shape: Shape = t.hasHost || prefixHasHost ? 'host' : 'no host';
    if (shape === 'no host' && !sessions) {
      if (!t.noFail && !t.gained) notes.push(`failregex ${i + 1} left out: no host and no session to take one from`);
      return;
    }
    const sources = t.sources.filter((src, j) => usable(src, `failregex ${i + 1}${t.sources.length > 1 ? ` (variant ${j + 1})` : ''}`));
    if (sources.length === 0) return;
    seen.noFail ||= t.noFail;
    seen.forget ||= t.forget;
    seen.gained ||= t.gained;
    const last = groups[groups.length - 1];
    if (last && last.shape === shape) last.re.push(...sources);
    else groups.push({ shape, re: sources });
  });
  if (groups.length === 0) return fail(`no failregex could be converted${notes.length > 0 ? ` (${notes[notes.length - 1]})` : ''}`);

  const ignoreRe: string[] = [];
  filter.ignoreregex.forEach((regex, i) => {
    const t = translateFailregex(regex);
    ignoreRe.push(...t.sources.filter((src) => usable(src, `ignoreregex ${i + 1}`)));
  });

  // the jail's top chain: journalmatch, prefregex, ignoreregex, then the failregex groups in order
  const top: Step[] = [];
  chains[name] = top;
  if (backend.startsWith('systemd') && filter.journalmatch.length > 0) addJournalMatch(filter.journalmatch, top, chains, c);
  // fail2ban's regexes are written for log file lines; from the journal, fail2ban builds that
  // line ("HOST IDENT[PID]: MESSAGE"), and so does the imported chain. An entry without
  // SYSLOG_IDENTIFIER (a text log read with --log-format line) is that line already.
  const source = top.length === 0 ? top : (chains[c('lines')] = []);
  source.push({ filter: 'filter_pcre', args: { field: 'SYSLOG_IDENTIFIER', re: '.' }, then: c('journal line'), else: c('text line') });
  chains[c('journal line')] = [{ action: 'action_setField', args: { field: LINE_FIELD, value: '{_HOSTNAME} {SYSLOG_IDENTIFIER}[{_PID}]: {MESSAGE}' }, then: c('line') }];
  chains[c('text line')] = [{ action: 'action_setField', args: { field: LINE_FIELD, value: '{MESSAGE}' }, then: c('line') }];
  const lines: Step[] = chains[c('line')] = [];
  if (prefix) lines.push({ filter: 'filter_pcre', args: { field: LINE_FIELD, re: prefix.sources[0] } });
  const groupChain = (i: number) => c(`failregex ${i + 1}`);
  if (ignoreRe.length > 0) {
    lines.push({ filter: 'filter_pcreAny', args: { field, re: ignoreRe }, then: c('ignored'), else: groupChain(0) });
    chains[c('ignored')] = [{ action: 'action_noop' }];
  }
  const matched = (shape: Shape) => c(shape === 'host' ? 'matched' : 'matched without host');
  groups.forEach((g, i) => {
    const step: Step = { filter: 'filter_pcreAny', args: { field, re: g.re }, then: matched(g.shape) };
    if (i + 1 < groups.length) step.else = groupChain(i + 1);
    if (i === 0 && ignoreRe.length === 0) lines.push(step);
    else chains[groupChain(i)] = [step];
  });

  // what a match is: <F-MLFGAINED> ends the session (a login), <F-NOFAIL> is no failure (its host
  // is remembered for the session, or the session ends with <F-MLFFORGET>), else a failure
  const session = `fail2ban ${name}`;
  const key = SESSION_FIELDS;
  const noop = (suffix: string) => { chains[c(suffix)] ??= [{ action: 'action_noop' }]; return c(suffix); };
  // a failure seen before its host (a line without one) waits in the session as `pending`; the
  // session's next line that gives the host, or its end, makes it count
  const PENDING = 'pending';
  const pendingCounts = () => {
    chains[c('pending failure')] ??= [
      { action: 'action_sessionRemember', args: { session, key, values: { [PENDING]: '' }, keepSeconds: SESSION_SECONDS } },
      { action: 'action_noop', then: c('count') },
    ];
    return c('pending failure');
  };
  const sessionEnd = () => {
    if (!sessions) return noop('not a failure');
    chains[c('session end')] ??= [
      { action: 'action_sessionRecall', args: { session, key, fields: [PENDING, HOST_FIELD], forget: true } },
      { filter: 'filter_pcre', args: { field: PENDING, re: '.' }, then: c('count'), else: noop('not a failure') },
    ];
    return c('session end');
  };
  const sessionGained = () => {
    if (!sessions) return noop('not a failure');
    chains[c('session gained')] ??= [{ action: 'action_sessionForget', args: { session, key } }];
    return c('session gained');
  };
  const sessionStart = () => {
    if (!sessions) return noop('not a failure');
    chains[c('session start')] ??= [
      { action: 'action_sessionRemember', args: { session, key, fields: [HOST_FIELD], keepSeconds: SESSION_SECONDS } },
      { action: 'action_sessionRecall', args: { session, key, fields: [PENDING] } },
      { filter: 'filter_pcre', args: { field: PENDING, re: '.' }, then: pendingCounts(), else: noop('not a failure') },
    ];
    return c('session start');
  };
  const decide = (chain: string, conditions: [string, () => string][], fallback: () => string): string => {
    if (conditions.length === 0) return fallback();
    conditions.forEach(([fieldName, target], k) => {
      const here = k === 0 ? chain : `${chain} ${k + 1}`;
      const next = k + 1 < conditions.length ? `${chain} ${k + 2}` : fallback();
      chains[here] = [{ filter: 'filter_pcre', args: { field: fieldName, re: '.' }, then: target(), else: next }];
    });
    return chain;
  };
  const noFailure = (chain: string, started: () => string) =>
    () => (seen.forget ? decide(chain, [['mlfforget', sessionEnd]], started) : started());
  const shapes = new Set(groups.map((g) => g.shape));
  const flags = (chain: string, started: () => string): [string, () => string][] => [
    ...(seen.gained ? [['mlfgained', sessionGained] as [string, () => string]] : []),
    ...(seen.noFail ? [['nofail', noFailure(`${chain}, no failure`, started)] as [string, () => string]] : []),
  ];
  if (shapes.has('host')) {
    const chain = matched('host');
    const taken = decide(chain, flags(chain, sessionStart), () => c('failure'));
    if (taken !== chain) renameChain(chains, chain, taken);
  }
  if (shapes.has('no host')) {
    const chain = matched('no host');
    const taken = decide(chain, flags(chain, () => noop('not a failure')), () => c('failure from session'));
    if (taken !== chain) renameChain(chains, chain, taken);
    chains[c('failure from session')] = [
      { action: 'action_sessionRecall', args: { session, key, fields: [HOST_FIELD] } },
      { filter: 'filter_pcre', args: { field: HOST_FIELD, re: '.' }, then: c('count'), else: c('no host yet') },
    ];
    chains[c('no host yet')] = [{ action: 'action_sessionRemember', args: { session, key, values: { [PENDING]: 'yes' }, keepSeconds: SESSION_SECONDS } }];
  }
  const failure: Step[] = [];
  chains[c('failure')] = failure;
  if (sessions) failure.push({ action: 'action_sessionRemember', args: { session, key, fields: [HOST_FIELD], keepSeconds: SESSION_SECONDS } });

  // ignoreip: never counted, never banned
  const ignore = (jail.get('ignoreip') ?? '').split(/[\s,]+/).filter(Boolean);
  const nets = ignore.filter((n) => /^[0-9a-fA-F.:]+(?:\/\d+)?$/.test(n));
  const skipped = ignore.filter((n) => !nets.includes(n));
  if (skipped.length > 0) notes.push(`ignoreip ${skipped.join(' ')}: only addresses and networks are kept (names are not resolved)`);
  const count: Step[] = [];
  chains[c('count')] = count;
  if (nets.length > 0) {
    failure.push({ filter: 'filter_inNetworks', args: { field: HOST_FIELD, nets }, then: noop('ignored address'), else: c('count') });
  } else if (failure.length > 0) {
    failure[failure.length - 1]!.then = c('count');
  } else {
    // nothing to do before counting: matches jump straight to the count
    delete chains[c('failure')];
    renameTargets(chains, c('failure'), c('count'));
  }
  report.failureStep = `${c('count')}[0]`;

  const counter = `fail2ban ${name}`;
  count.push(
    { action: 'action_counterRaise', args: { counter, for: HOST_FIELD, keepSeconds: findSeconds, save: 'failures' } },
    { filter: 'filter_greaterOrEquals', args: { field: 'failures', value: maxretry } },
  );
  const bans = banSteps(jail, name, banSeconds, notes, report.sets);
  count.push(...bans);
  count.push(
    { action: 'action_counterReset', args: { counter, for: HOST_FIELD } },
    { action: 'action_log', args: { level: 'NOTICE', message: `banned {${HOST_FIELD}} after {failures} failures (${name})` } },
  );
  const increment = /^(true|yes|1|on)$/i.test((jail.get('bantime.increment') ?? 'false').trim());
  if (increment) {
    const maxtime = parseDurationOr(jail.get('bantime.maxtime'), 7 * 86400);
    const longer: Step[] = [
      { action: 'action_counterRaise', args: { counter: `${counter} bans`, for: HOST_FIELD, keepSeconds: maxtime, save: 'bans' } },
      { filter: 'filter_greaterOrEquals', args: { field: 'bans', value: 2 } },
      ...banSteps(jail, name, maxtime, [], []),
      { action: 'action_log', args: { level: 'NOTICE', message: `banned {${HOST_FIELD}} for ${maxtime} s: banned {bans} times (${name}, bantime.increment)` } },
    ];
    const last = count[count.length - 1]!;
    last.then = c('recidive');
    chains[c('recidive')] = longer;
    notes.push(`bantime.increment: a second ban within ${maxtime} s lasts ${maxtime} s (bantime.maxtime), not fail2ban's growing formula`);
  }
  if (notes.length > 0) report.status = 'converted with warnings';
  return report;
}

/** Jumps to `from` go to `to` instead. */
function renameTargets(chains: Chains, from: string, to: string): void {
  for (const steps of Object.values(chains)) {
    for (const step of steps) {
      if (step.then === from) step.then = to;
      if (step.else === from) step.else = to;
    }
  }
}

/** When a decision chain has no condition, matches go straight to its fallback. */
function renameChain(chains: Chains, from: string, to: string): void {
  delete chains[from];
  renameTargets(chains, from, to);
}

function parseDurationOr(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  try { return parseDuration(text) ?? fallback; } catch { return fallback; }
}

/** journalmatch alternatives (OR), each a list of FIELD=value (AND). */
function addJournalMatch(alternatives: string[][], top: Step[], chains: Chains, c: (s: string) => string): void {
  alternatives.forEach((terms, i) => {
    const steps: Step[] = i === 0 ? top : (chains[c(`journalmatch ${i + 1}`)] = []);
    terms.forEach((term, j) => {
      const eq = term.indexOf('=');
      const fieldName = term.slice(0, eq);
      const raw = term.slice(eq + 1);
      const value = /^\d+$/.test(raw) && /^(PRIORITY|_PID|_UID|_GID|SYSLOG_FACILITY)$/.test(fieldName) ? Number(raw) : raw;
      const step: Step = { filter: 'filter_equals', args: { field: fieldName, value } };
      if (j === terms.length - 1) step.then = c('lines');
      if (i + 1 < alternatives.length) step.else = c(`journalmatch ${i + 2}`);
      steps.push(step);
    });
  });
}
