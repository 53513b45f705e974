// Bans and unbans an admin asks for (`peruse bans ban|unban`), done the same way by the command line
// and by the running daemon (which owns the store then: the two never race on the file).
import type { Settings } from '../config/settings.js';
import { BACKENDS, backendCommand, ipsetBackend, nftBackend, remainingSeconds, type BanBackend } from '../net/ban-commands.js';
import { namedBanSets, type NamedSet } from '../net/firewall-setup.js';
import { parseIp } from '../net/ip.js';
import type { CommandRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import { canonicalBanTarget, type BanStore } from './bans.js';

export type StoreFor = (backend: BanBackend) => BanStore;

export interface ManualBan {
  address: string;
  set?: string;
  /** Seconds; null = permanent; undefined = as long as the longest ban step naming the set. */
  seconds?: number | null;
}

export interface AdminOutcome {
  code: number;
  /** Lines for stdout (what was done) and stderr (what failed). */
  out: string[];
  err: string[];
}

/** `10m`, `3600`, `1h30m`, `2d`, `permanent` → seconds (null = permanent); undefined when it does not parse. */
export function parseDuration(text: string): number | null | undefined {
  if (text === 'permanent' || text === 'forever') return null;
  if (/^\d+$/.test(text)) return Number(text) > 0 ? Number(text) : undefined;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const parts = [...text.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
  return seconds > 0 ? seconds : undefined;
}

/** The backend and set a manual ban goes into: `--set`, else the only set the config's ban steps name for that family. */
export function resolveBanSet(settings: Settings, target: string, set: string | undefined, known: readonly NamedSet[] = namedBanSets(settings.rawConfig)):
  { backend: BanBackend; set: string; banSeconds: number | undefined; family: 4 | 6 } | string {
  const family = parseIp(target.split('/')[0]!)?.family;
  if (family === undefined) return `"${target}" is not an IP address`;
  const named = known.filter((n) => n.family === family && (set === undefined || n.set === set));
  if (named.length === 1) {
    const only = named[0]!;
    return { backend: only.backend === 'nft' ? nftBackend : ipsetBackend, set: only.set, banSeconds: only.banSeconds, family };
  }
  if (set === undefined) {
    return named.length === 0
      ? `no ban step of the config names an IPv${family} set: give --set`
      : `several IPv${family} sets: choose one with --set (${named.map((n) => `"${n.set}"`).join(', ')})`;
  }
  if (named.length > 1) return `"${set}" is both an nft and an ipset set in the config`;
  // a set the config does not name: nft set paths have spaces (FAMILY TABLE SET), ipset names none
  const backend = set.includes(' ') ? nftBackend : ipsetBackend;
  const problem = backend.checkSet(set);
  return problem ?? { backend, set, banSeconds: undefined, family };
}

/** Records the ban in the store, then puts it in the kernel set (delete first if it was there: the new timeout wins). */
export interface BanOptions {
  /** The sets ban steps name (default: read from the config as written). */
  known?: readonly NamedSet[];
  /** Called with the chosen set before the firewall command runs (the command line makes the set then). */
  prepare?: (named: NamedSet) => Promise<void>;
}

export async function banAddress(settings: Settings, request: ManualBan, storeFor: StoreFor, runner: CommandRunner, nowMicros: number,
  options: BanOptions = {}): Promise<AdminOutcome> {
  const target = canonicalBanTarget(request.address);
  if (!target) return { code: 2, out: [], err: [`"${request.address}" is not an IP address (or IPv6 prefix ADDRESS/LEN)`] };
  const where = resolveBanSet(settings, target, request.set, options.known);
  if (typeof where === 'string') return { code: 2, out: [], err: [where] };
  await options.prepare?.({ backend: where.backend.name, set: where.set, family: where.family, prefixes: target.includes('/'), banSeconds: where.banSeconds });
  const seconds = request.seconds === undefined ? where.banSeconds : request.seconds ?? undefined;
  const until = seconds === undefined ? 0 : nowMicros + seconds * 1e6;
  const store = storeFor(where.backend);
  const previous = store.put({ set: where.set, ip: target, until, reason: 'peruse bans ban' }, nowMicros);
  store.flush();
  const command = backendCommand(where.backend, settings.section(where.backend.section));
  if (previous) await runner.run([...command, ...where.backend.deleteArgs(where.set, target)]);
  const result = await runner.run([...command, ...where.backend.addArgs(where.set, target, remainingSeconds(until, nowMicros))]);
  const what = `${target} in ${where.backend.name} set ${where.set} ${seconds === undefined ? 'for ever' : `for ${seconds} s`}`;
  if (result.code !== 0) {
    return { code: 1, out: [], err: [`banning ${what} failed: ${result.stderr.trim() || `exit ${result.code}`} (kept in the store: bans restore applies it)`] };
  }
  return { code: 0, out: [`banned ${what}`], err: [] };
}

/** Removes ADDRESS from the kernel sets and from the store, so it does not come back at boot. */
export async function unbanAddress(settings: Settings, address: string, set: string | undefined, storeFor: StoreFor,
  runner: CommandRunner, log: Logger, nowMicros: number): Promise<AdminOutcome> {
  const outcome: AdminOutcome = { code: 0, out: [], err: [] };
  const target = canonicalBanTarget(address);
  if (!target) return { code: 2, out: [], err: [`"${address}" is not an IP address (or IPv6 prefix ADDRESS/LEN)`] };
  let removed = 0, failed = 0;
  for (const backend of BACKENDS) {
    const store = storeFor(backend);
    const matches = store.all().filter((b) => b.ip === target && (set === undefined || b.set === set));
    if (matches.length === 0) continue;
    const command = backendCommand(backend, settings.section(backend.section));
    for (const ban of matches) {
      const result = await runner.run([...command, ...backend.deleteArgs(ban.set, ban.ip)]);
      // an element that already timed out is not in the kernel set any more: still drop it from the store
      if (result.code !== 0 && ban.until !== 0 && ban.until <= nowMicros) {
        log.debug(`bans: ${ban.ip} had already expired in ${ban.set}`);
      } else if (result.code !== 0) {
        failed++;
        outcome.err.push(`removing ${ban.ip} from ${backend.name} set ${ban.set} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
      }
      store.remove(ban.set, ban.ip);
      removed++;
      outcome.out.push(`unbanned ${ban.ip} from ${backend.name} set ${ban.set}`);
    }
    store.flush();
  }
  if (removed === 0) {
    outcome.err.push(`${target} is not banned${set === undefined ? '' : ` in ${set}`} (not in the ban store)`);
    outcome.code = 1;
  } else if (failed > 0) outcome.code = 1;
  return outcome;
}
