// What the bans need in the firewall, made by peruse itself (as fail2ban's nftables action and
// crowdsec's bouncer do): the sets every ban step names, and the rules that drop their traffic.
// Idempotent: run at every `peruse run`, reload and `bans restore`; a set that exists is left as
// it is (its elements, its flags: an admin's set of a Pyruse setup keeps working).
import path from 'node:path';
import type { PathSegment } from '../config/errors.js';
import type { Settings } from '../config/settings.js';
import type { CommandRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import { backendCommand, ipsetBackend, nftBackend, type BanBackend } from './ban-commands.js';

/** A set some ban step writes into. */
export interface NamedSet {
  backend: BanBackend['name'];
  set: string;
  family: 4 | 6;
  /** A step bans IPv6 prefixes into it: nft needs `flags interval`, ipset `hash:net`. */
  prefixes: boolean;
  /** Where the config names it (the first step that does), for `check`; unknown for a set known otherwise. */
  path?: PathSegment[];
  /** The longest ban a step naming it gives, in seconds; undefined when one bans for ever. */
  banSeconds: number | undefined;
}

export interface FirewallOptions {
  /** peruse creates the sets and the drop rules (default); false: the admin does, as before. */
  manage: boolean;
  iptables: string[];
  ip6tables: string[];
}

/** Chains peruse owns in every nft table holding one of its sets; their rules are rewritten at each set-up. */
export const NFT_CHAINS = [
  { name: 'peruse_input', hook: 'input' },
  { name: 'peruse_forward', hook: 'forward' },
] as const;
/** Before the usual accept rules (filter, priority 0): a banned address never reaches them. */
export const NFT_PRIORITY = -10;
const IPTABLES_CHAINS = ['INPUT', 'FORWARD'] as const;

const BAN_ACTIONS = {
  action_nftBan: { backend: 'nft', v4: 'nftSetIPv4', v6: 'nftSetIPv6' },
  action_ipsetBan: { backend: 'ipset', v4: 'ipSetIPv4', v6: 'ipSetIPv6' },
} as const;

export function firewallOptions(settings: Settings): FirewallOptions {
  const section = settings.section<{ manage: boolean; iptables: string[]; ip6tables: string[] }>('firewall');
  const ipset = backendCommand(ipsetBackend, settings.section('ipsetBan'));
  return {
    manage: section.manage !== false,
    iptables: argv(section.iptables) ?? besideIpset(ipset, 'iptables'),
    ip6tables: argv(section.ip6tables) ?? besideIpset(ipset, 'ip6tables'),
  };
}

function argv(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? value : undefined;
}

/**
 * iptables runs where the configured ipset runs: `ip netns exec NS ipset -exist` gives
 * `ip netns exec NS iptables`, `/usr/sbin/ipset` gives `/usr/sbin/iptables`. An ipset command that
 * is not ipset (a recorder script) gives none: the rules are then not made (never in another firewall).
 */
export function besideIpset(ipset: readonly string[], program: 'iptables' | 'ip6tables'): string[] {
  const at = ipset.findIndex((word) => path.basename(word) === 'ipset');
  if (at < 0) return [];
  const dir = path.dirname(ipset[at]!);
  return [...ipset.slice(0, at), dir === '.' ? program : path.join(dir, program)];
}

/** State part where each ban step, as it is built, records the sets it writes into. */
export const NAMED_SETS_PART = 'firewall.namedSets';

/** Adds `named` to `found` (keyed by backend, family and set): prefixes add up, the longest ban wins. */
export function addNamedSet(found: Map<string, NamedSet>, named: NamedSet): void {
  const id = `${named.backend} ${named.family} ${named.set}`;
  const known = found.get(id);
  if (!known) { found.set(id, { ...named }); return; }
  known.prefixes ||= named.prefixes;
  known.banSeconds = known.banSeconds === undefined || named.banSeconds === undefined ? undefined : Math.max(known.banSeconds, named.banSeconds);
  known.path ??= named.path;
}

/** The sets of several sources, once each (the first source's paths are kept). */
export function mergeNamedSets(...lists: readonly (readonly NamedSet[])[]): NamedSet[] {
  const found = new Map<string, NamedSet>();
  for (const list of lists) for (const named of list) addNamedSet(found, named);
  return [...found.values()];
}

/** The sets the ban steps of a built config recorded (includes and parameters resolved). */
export function recordedSets(state: { has(name: string): boolean; part<T>(name: string, create: () => T): T }): NamedSet[] {
  return state.has(NAMED_SETS_PART) ? [...state.part(NAMED_SETS_PART, () => new Map<string, NamedSet>()).values()] : [];
}

/** The sets of stored bans (what `bans restore` writes into, whatever the config says now). */
export function setsOfBans(bans: readonly { set: string; ip: string }[], backend: BanBackend['name']): NamedSet[] {
  const found = new Map<string, NamedSet>();
  for (const ban of bans) {
    const family = ban.ip.includes(':') ? 6 : 4;
    addNamedSet(found, { backend, set: ban.set, family, prefixes: family === 6 && ban.ip.includes('/'), banSeconds: undefined });
  }
  return [...found.values()];
}

/**
 * Every set the config's ban steps name (built-in ban actions), once per backend and set, read
 * from the config as written; the daemon adds what the built steps recorded (NAMED_SETS_PART).
 */
export function namedBanSets(raw: Readonly<Record<string, unknown>>): NamedSet[] {
  const found = new Map<string, NamedSet>();
  const actions = raw.actions;
  if (!actions || typeof actions !== 'object') return [];
  for (const [chain, steps] of Object.entries(actions)) {
    if (!Array.isArray(steps)) continue;
    steps.forEach((step: unknown, index) => {
      if (!step || typeof step !== 'object') return;
      const { action, args } = step as { action?: unknown; args?: Record<string, unknown> };
      const spec = typeof action === 'string' ? BAN_ACTIONS[action as keyof typeof BAN_ACTIONS] : undefined;
      if (!spec || !args || typeof args !== 'object') return;
      const banSeconds = typeof args.banSeconds === 'number' ? args.banSeconds : undefined;
      const prefix = typeof args.banIPv6Prefix === 'number' && args.banIPv6Prefix < 128;
      for (const [family, key] of [[4, spec.v4], [6, spec.v6]] as const) {
        const set = args[key];
        if (typeof set !== 'string') continue;
        addNamedSet(found, { backend: spec.backend, set, family, prefixes: family === 6 && prefix, path: ['actions', chain, index, 'args', key], banSeconds });
      }
    });
  }
  return [...found.values()];
}

/** FAMILY TABLE SET of an nft set path (nft's default family `ip` when only TABLE SET is given). */
export function nftSetParts(set: string): { family: string; table: string; name: string } {
  const words = set.split(' ');
  return words.length === 3 ? { family: words[0]!, table: words[1]!, name: words[2]! } : { family: 'ip', table: words[0]!, name: words[1]! };
}

/** Why peruse cannot make the drop rule of this set, or undefined when it can. */
export function nftProblem(named: NamedSet): string | undefined {
  const { family } = nftSetParts(named.set);
  if (family === 'inet') return undefined;
  if (family === 'ip' && named.family === 4) return undefined;
  if (family === 'ip6' && named.family === 6) return undefined;
  return family === 'ip' || family === 'ip6'
    ? `an ${family} table cannot match IPv${named.family} addresses`
    : `peruse makes drop rules in ip, ip6 and inet tables only, not ${family}`;
}

/**
 * The nft script making the tables, the sets that do not exist yet, peruse's chains, and each drop
 * rule `ruleExists` does not find: running it twice changes nothing, and a rule is never removed
 * (another config's set, a set known only to the daemon, keep theirs).
 */
export function nftSetupScript(sets: readonly NamedSet[], existing: ReadonlySet<string>,
  ruleExists: (table: string, chain: string, rule: string) => boolean = () => false): string {
  const byTable = new Map<string, NamedSet[]>();
  for (const named of sets) {
    const { family, table } = nftSetParts(named.set);
    const key = `${family} ${table}`;
    byTable.set(key, [...(byTable.get(key) ?? []), named]);
  }
  const lines: string[] = [];
  for (const [table, members] of byTable) {
    lines.push(`add table ${table}`);
    for (const named of members) {
      if (existing.has(named.set)) continue;
      const { name } = nftSetParts(named.set);
      const flags = named.prefixes ? 'interval, timeout' : 'timeout';
      lines.push(`add set ${table} ${name} { type ${named.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags ${flags}; }`);
    }
    for (const chain of NFT_CHAINS) {
      lines.push(`add chain ${table} ${chain.name} { type filter hook ${chain.hook} priority ${NFT_PRIORITY}; policy accept; }`);
      for (const named of members) {
        const rule = dropRule(named);
        if (!ruleExists(table, chain.name, rule)) lines.push(`add rule ${table} ${chain.name} ${rule}`);
      }
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * The sets and chains of `nft -t list table` output: nft prints each at one tab, its body indented
 * deeper and closed by a tab and `}`; a chain's text is its body's lines.
 */
export function readTableListing(text: string): { sets: Set<string>; chains: Map<string, string> } {
  const sets = new Set<string>();
  const chains = new Map<string, string>();
  let chain: string | undefined;
  let body: string[] = [];
  for (const line of text.split('\n')) {
    const opened = /^\t(set|map|chain) (\S+) \{$/.exec(line);
    if (opened) {
      if (opened[1] === 'set') sets.add(opened[2]!);
      if (opened[1] === 'chain') { chain = opened[2]!; body = []; }
      continue;
    }
    if (line === '\t}') {
      if (chain !== undefined) chains.set(chain, body.join('\n'));
      chain = undefined;
    } else if (chain !== undefined) body.push(line);
  }
  return { sets, chains };
}

/** The rule dropping a set's traffic, as `nft list chain` prints it back. */
export function dropRule(named: NamedSet): string {
  return `${named.family === 4 ? 'ip' : 'ip6'} saddr @${nftSetParts(named.set).name} drop`;
}

export interface SetupResult {
  /** Sets created now. */
  created: string[];
  /** What went wrong (logged as errors too); empty when the firewall holds everything the bans need. */
  problems: string[];
}

/**
 * Makes what the config's ban steps need (when `firewall.manage` is not false): for nft one
 * transaction per run, for ipset `create` of missing sets and one iptables/ip6tables DROP rule per
 * set and chain, inserted first, once. Never throws.
 */
export async function setupFirewall(settings: Settings, log: Logger, runner: CommandRunner, more: readonly NamedSet[] = []): Promise<SetupResult> {
  const options = firewallOptions(settings);
  const result: SetupResult = { created: [], problems: [] };
  if (!options.manage) return result;
  const sets = mergeNamedSets(namedBanSets(settings.rawConfig), more);
  const problem = (text: string) => { result.problems.push(text); log.error(`firewall: ${text}`); };
  await setupNft(sets.filter((s) => s.backend === 'nft'), backendCommand(nftBackend, settings.section('nftBan')), runner, result, problem);
  await setupIpset(sets.filter((s) => s.backend === 'ipset'), backendCommand(ipsetBackend, settings.section('ipsetBan')), options, runner, result, problem);
  if (result.created.length) log.notice(`firewall: created ${result.created.join(', ')}`);
  return result;
}

async function setupNft(sets: NamedSet[], nft: string[], runner: CommandRunner, result: SetupResult, problem: (text: string) => void): Promise<void> {
  const usable: NamedSet[] = [];
  for (const named of sets) {
    const why = nftBackend.checkSet(named.set) ?? nftProblem(named);
    if (why) problem(`nft set "${named.set}": ${why}; set "firewall": {"manage": false} and make its rules yourself`);
    else usable.push(named);
  }
  if (usable.length === 0) return;
  // one `nft -t list table` per table tells its sets and peruse's chains: every nft call costs
  // `bans restore` and the daemon's start ~25 ms of spawning alone (six calls before)
  const tables = [...new Set(usable.map((s) => { const p = nftSetParts(s.set); return `${p.family} ${p.table}`; }))];
  const listings = new Map(await Promise.all(tables.map(async (table) => {
    const list = await runner.run([...nft, '-t', 'list', 'table', ...table.split(' ')], { timeoutMs: 30_000 });
    // a table not there yet: nothing in it
    return [table, readTableListing(list.code === 0 ? list.stdout : '')] as const;
  })));
  const existing = new Set(usable.filter((named) => {
    const { family, table, name } = nftSetParts(named.set);
    return listings.get(`${family} ${table}`)?.sets.has(name) ?? false;
  }).map((named) => named.set));
  // the rules already in peruse's chains, as nft prints them (a chain not there yet prints nothing)
  const listed = new Map<string, string>();
  for (const [table, listing] of listings) for (const [chain, text] of listing.chains) listed.set(`${table} ${chain}`, text);
  const script = nftSetupScript(usable, existing, (table, chain, rule) =>
    (listed.get(`${table} ${chain}`) ?? '').split('\n').some((line) => line.trim() === rule));
  const run = await runner.run([...nft, '-f', '-'], { stdin: script, timeoutMs: 30_000 });
  if (run.code !== 0) {
    problem(`nft refused the set-up of ${usable.map((s) => `"${s.set}"`).join(', ')}: ${run.stderr.trim().slice(0, 1000) || `exit ${run.code}`}`);
    return;
  }
  result.created.push(...usable.filter((s) => !existing.has(s.set)).map((s) => `nft set ${s.set}`));
}

/** `nft -t list set` (terse: without the elements) succeeds only for a set that exists. */
export async function nftSetExists(nft: readonly string[], set: string, runner: CommandRunner): Promise<boolean> {
  const { family, table, name } = nftSetParts(set);
  return (await runner.run([...nft, '-t', 'list', 'set', family, table, name], { timeoutMs: 30_000 })).code === 0;
}

export async function ipsetExists(ipset: readonly string[], set: string, runner: CommandRunner): Promise<boolean> {
  return (await runner.run([...ipset, 'list', '-name', set], { timeoutMs: 30_000 })).code === 0;
}

async function setupIpset(sets: NamedSet[], ipset: string[], options: FirewallOptions, runner: CommandRunner,
  result: SetupResult, problem: (text: string) => void): Promise<void> {
  for (const named of sets) {
    const why = ipsetBackend.checkSet(named.set);
    if (why) { problem(`ipset "${named.set}": ${why}`); continue; }
    if (!(await ipsetExists(ipset, named.set, runner))) {
      // timeout 0: the set takes timeouts, and an element added without one stays (permanent bans)
      const create = await runner.run([...ipset, ...(ipset.includes('-exist') ? [] : ['-exist']), 'create', named.set,
        named.prefixes ? 'hash:net' : 'hash:ip', 'family', named.family === 4 ? 'inet' : 'inet6', 'timeout', '0'], { timeoutMs: 30_000 });
      if (create.code !== 0) { problem(`ipset create ${named.set} failed: ${create.stderr.trim() || `exit ${create.code}`}`); continue; }
      result.created.push(`ipset ${named.set}`);
    }
    const tables = named.family === 4 ? options.iptables : options.ip6tables;
    if (tables.length === 0) {
      problem(`ipset ${named.set}: no DROP rule made, the ipset command (${ipset.join(' ')}) is not ipset: set firewall.${named.family === 4 ? 'iptables' : 'ip6tables'}`);
      continue;
    }
    for (const chain of IPTABLES_CHAINS) {
      const rule = ['-m', 'set', '--match-set', named.set, 'src', '-j', 'DROP'];
      // -C first: the rule goes in once however often peruse starts
      if ((await runner.run([...tables, '-w', '-C', chain, ...rule], { timeoutMs: 30_000 })).code === 0) continue;
      const insert = await runner.run([...tables, '-w', '-I', chain, '1', ...rule], { timeoutMs: 30_000 });
      if (insert.code !== 0) problem(`${tables.join(' ')} -I ${chain} for ipset ${named.set} failed: ${insert.stderr.trim() || `exit ${insert.code}`}`);
    }
  }
}

/**
 * The named sets that do not exist, when peruse does not manage them (`check` warns about those:
 * a ban into a missing set fails). Empty when peruse manages the firewall.
 */
export async function missingUnmanagedSets(settings: Settings, runner: CommandRunner, more: readonly NamedSet[] = []): Promise<NamedSet[]> {
  if (firewallOptions(settings).manage) return [];
  const nft = backendCommand(nftBackend, settings.section('nftBan'));
  const ipset = backendCommand(ipsetBackend, settings.section('ipsetBan'));
  const missing: NamedSet[] = [];
  for (const named of mergeNamedSets(namedBanSets(settings.rawConfig), more)) {
    const backend = named.backend === 'nft' ? nftBackend : ipsetBackend;
    if (backend.checkSet(named.set)) continue; // already an error of its step
    const exists = named.backend === 'nft' ? await nftSetExists(nft, named.set, runner) : await ipsetExists(ipset, named.set, runner);
    if (!exists) missing.push(named);
  }
  return missing;
}
