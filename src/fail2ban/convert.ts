// A fail2ban jail → peruse chains. The jail's filter becomes a chain of regex steps on MESSAGE
// (prefregex, then failregex groups in their order, ignoreregex first), its maxretry/findtime a
// counter, its bantime a ban, its ignoreip a never-banned list, its actions bans and mails; lines
// of one session (<F-MLFID>) share their host through a session memory.
import { compilePattern } from '../text/regex.js';
import { loadFilter, parseFilterReference, type FilterDefinition } from './filter.js';
import type { Jail } from './jails.js';
import { parseDuration } from './jails.js';
import { HOST_FIELD, translateFailregex, type TranslatedRegex } from './regex.js';

export type Step = Record<string, unknown>;
export type Chains = Record<string, Step[]>;

export interface JailReport {
  jail: string;
  status: 'converted' | 'converted with warnings' | 'not converted';
  filter?: string;
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
    filter = loadFilter(options.dir, ref.name, ref.params);
  } catch (e) {
    return fail(`filter "${filterText}": ${(e as Error).message}`);
  }
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
  const field = prefix && filter.prefregex!.includes('<F-CONTENT>') ? 'content' : 'MESSAGE';
  const prefixHasHost = prefix?.hasHost === true;

  type Kind = 'failure' | 'remember' | 'from session' | 'forget';
  const groups: { kind: Kind; re: string[] }[] = [];
  filter.failregex.forEach((regex, i) => {
    let t: TranslatedRegex;
    try { t = translateFailregex(regex); } catch (e) { notes.push(`failregex ${i + 1} left out: ${(e as Error).message}`); return; }
    if (t.unknownTags.length > 0) { notes.push(`failregex ${i + 1} left out: unknown tag ${t.unknownTags.join(', ')}`); return; }
    const sources = t.sources.filter((s, j) => usable(s, `failregex ${i + 1}${t.sources.length > 1 ? ` (variant ${j + 1})` : ''}`));
    if (sources.length === 0) return;
    const hasHost = t.hasHost || prefixHasHost;
    let kind: Kind;
    if (t.gained) kind = 'forget';
    else if (t.noFail) kind = hasHost && sessions ? 'remember' : 'forget';
    else if (hasHost) kind = 'failure';
    else if (sessions) kind = 'from session';
    else { notes.push(`failregex ${i + 1} left out: no host and no session to take one from`); return; }
    const last = groups[groups.length - 1];
    if (last && last.kind === kind) last.re.push(...sources);
    else groups.push({ kind, re: sources });
  });
  if (!groups.some((g) => g.kind === 'failure' || g.kind === 'from session')) return fail('no failregex could be converted');

  const ignoreRe: string[] = [];
  filter.ignoreregex.forEach((regex, i) => {
    const t = translateFailregex(regex);
    ignoreRe.push(...t.sources.filter((s) => usable(s, `ignoreregex ${i + 1}`)));
  });

  // the jail's top chain: journalmatch, prefregex, ignoreregex, then the failregex groups in order
  const top: Step[] = [];
  chains[name] = top;
  if (backend.startsWith('systemd') && filter.journalmatch.length > 0) {
    addJournalMatch(filter.journalmatch, name, top, chains, c);
  }
  const lines = chains[name] === top && top.length === 0 ? top : (chains[c('lines')] = []);
  if (prefix) lines.push({ filter: 'filter_pcre', args: { field: 'MESSAGE', re: prefix.sources[0] } });
  const firstGroup = c('failregex 1');
  if (ignoreRe.length > 0) {
    lines.push({ filter: 'filter_pcreAny', args: { field, re: ignoreRe }, then: c('ignored'), else: firstGroup });
    chains[c('ignored')] = [{ action: 'action_noop' }];
  } else {
    lines.push({ action: 'action_noop', then: firstGroup });
    lines.splice(lines.length - 1, 1);
  }
  const target = (kind: Kind) => c(kind === 'failure' ? 'failure' : kind === 'remember' ? 'session start' : kind === 'forget' ? 'session end' : 'failure from session');
  groups.forEach((g, i) => {
    const step: Step = { filter: 'filter_pcreAny', args: { field, re: g.re }, then: target(g.kind) };
    if (i + 1 < groups.length) step.else = c(`failregex ${i + 2}`);
    if (i === 0 && ignoreRe.length === 0) lines.push(step);
    else chains[c(`failregex ${i + 1}`)] = [step];
  });
  // the first group sits in the lines chain when there is no ignoreregex
  if (ignoreRe.length === 0 && groups.length > 0) delete chains[firstGroup];
  else if (ignoreRe.length > 0) { /* failregex 1 is its own chain, jumped to from ignoreregex's else */ }

  const sessionKey = SESSION_FIELDS;
  const session = `fail2ban ${name}`;
  const kinds = new Set(groups.map((g) => g.kind));
  if (kinds.has('remember')) {
    chains[target('remember')] = [{ action: 'action_sessionRemember', args: { session, key: sessionKey, fields: [HOST_FIELD], keepSeconds: SESSION_SECONDS } }];
  }
  if (kinds.has('forget')) {
    chains[target('forget')] = [sessions ? { action: 'action_sessionForget', args: { session, key: sessionKey } } : { action: 'action_noop' }];
  }
  if (kinds.has('from session')) {
    chains[target('from session')] = [
      { action: 'action_sessionRecall', args: { session, key: sessionKey, fields: [HOST_FIELD] } },
      { filter: 'filter_pcre', args: { field: HOST_FIELD, re: '.' }, then: c('count'), else: c('no host') },
    ];
    chains[c('no host')] = [{ action: 'action_noop' }];
  }
  const failure: Step[] = [];
  chains[target('failure')] = failure;
  if (sessions) failure.push({ action: 'action_sessionRemember', args: { session, key: sessionKey, fields: [HOST_FIELD], keepSeconds: SESSION_SECONDS } });

  // ignoreip: never counted, never banned
  const ignore = (jail.get('ignoreip') ?? '').split(/[\s,]+/).filter(Boolean);
  const nets = ignore.filter((n) => /^[0-9a-fA-F.:]+(?:\/\d+)?$/.test(n));
  const skipped = ignore.filter((n) => !nets.includes(n));
  if (skipped.length > 0) notes.push(`ignoreip ${skipped.join(' ')}: only addresses and networks are kept (names are not resolved)`);
  const count: Step[] = [];
  if (nets.length > 0) {
    failure.push({ filter: 'filter_inNetworks', args: { field: HOST_FIELD, nets }, then: c('ignored address'), else: c('count') });
    chains[c('ignored address')] = [{ action: 'action_noop' }];
    chains[c('count')] = count;
  } else if (kinds.has('from session')) {
    failure.push({ action: 'action_noop', then: c('count') });
    failure.pop();
    chains[c('count')] = count;
    if (failure.length === 0) failure.push({ action: 'action_noop' });
    failure[failure.length - 1]!.then = c('count');
  } else {
    chains[c('count')] = count;
    if (failure.length === 0) { delete chains[c('count')]; chains[target('failure')] = count; }
    else failure[failure.length - 1]!.then = c('count');
  }
  report.failureStep = chains[c('count')] === count ? `${c('count')}[0]` : `${target('failure')}[${failure.length}]`;

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

function parseDurationOr(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  try { return parseDuration(text) ?? fallback; } catch { return fallback; }
}

/** journalmatch alternatives (OR), each a list of FIELD=value (AND). */
function addJournalMatch(alternatives: string[][], name: string, top: Step[], chains: Chains, c: (s: string) => string): void {
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
  void name;
}

/** The jail's actions as ban and mail steps. */
function banSteps(jail: Jail, name: string, banSeconds: number | undefined, notes: string[], sets: string[]): Step[] {
  const steps: Step[] = [];
  const actions = (jail.get('action') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const setName = name.replace(/[^A-Za-z0-9_-]/g, '_');
  for (const line of actions) {
    const action = /^([^[\s]+)/.exec(line)?.[1] ?? line;
    const seconds = banSeconds === undefined ? {} : { banSeconds: Math.round(banSeconds) };
    if (/^(nftables|iptables|firewallcmd|shorewall|ufw|route)/.test(action) && !action.includes('ipset')) {
      const set4 = `inet peruse f2b-${setName}4`, set6 = `inet peruse f2b-${setName}6`;
      steps.push({ action: 'action_nftBan', args: { IP: HOST_FIELD, nftSetIPv4: set4, nftSetIPv6: set6, ...seconds } });
      sets.push(`nft add table inet peruse; nft add set inet peruse f2b-${setName}4 '{ type ipv4_addr; flags timeout; }'; nft add set inet peruse f2b-${setName}6 '{ type ipv6_addr; flags timeout; }' (and a rule dropping from them)`);
      if (!action.startsWith('nftables')) notes.push(`action ${action}: banned into nftables sets (${set4}, ${set6}) instead`);
    } else if (action.includes('ipset')) {
      steps.push({ action: 'action_ipsetBan', args: { IP: HOST_FIELD, ipSetIPv4: `f2b-${setName}`, ipSetIPv6: `f2b-${setName}6`, ...seconds } });
      sets.push(`ipset create f2b-${setName} hash:ip timeout 0; ipset create f2b-${setName}6 hash:ip family inet6 timeout 0 (and an iptables rule dropping from them)`);
    } else if (/^(sendmail|mail|sendmail-whois|sendmail-whois-lines|sendmail-buffered|mail-whois|mail-whois-lines|complain)/.test(action) || /sendmail|mail/.test(action)) {
      steps.push({ action: 'action_email', args: { subject: `[peruse] ${name}: banned {${HOST_FIELD}}`, message: `peruse banned {${HOST_FIELD}} after {failures} failures of jail ${name}.\nLast line: {MESSAGE}` } });
      if (action !== 'sendmail' && action !== 'mail') notes.push(`action ${action}: a plain email (no whois, no log lines)`);
    } else {
      notes.push(`action ${action}: not converted (peruse has no such action; bans go nowhere for it)`);
    }
  }
  if (actions.length === 0) notes.push('no action: failures are counted, nothing is banned');
  return steps;
}
