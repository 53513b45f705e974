import { ConfigError } from '../config/errors.js';
import type { ActionInstance, Entry, ModuleContext } from '../modules/api.js';
import { banPublisher } from '../crowdsec/publish-step.js';
import { openBanStore } from '../state/ban-restore.js';
import type { BanStore } from '../state/bans.js';
import type { Durable } from '../state/state.js';
import { backendCommand, remainingSeconds, type BanBackend } from './ban-commands.js';
import { BanQueue } from './ban-queue.js';
import { addNamedSet, NAMED_SETS_PART, type NamedSet } from './firewall-setup.js';
import { cachedParseIp, parseNetwork } from './ip.js';

/** The args of both ban actions, with the set names under one spelling. */
export interface BanStepArgs {
  /** Entry field holding the address. */
  field: string;
  setV4: string;
  setV6: string;
  banSeconds?: number;
  banIPv6Prefix?: number;
  /** Publish each ban to CrowdSec's LAPI too (the `crowdsec` arg). */
  crowdsec?: boolean;
  /** Arg names as the config spells them, for error paths. */
  setV4Arg: string;
  setV6Arg: string;
}

/** What every ban step of one backend shares: the store, the command queue, the argv. */
export interface BanService extends Durable {
  readonly backend: BanBackend;
  readonly store: BanStore;
  readonly queue: BanQueue;
  readonly command: readonly string[];
}

/** What a ban service needs of a step's context (the LAPI bouncer has no step of its own). */
export type BanServiceContext = Pick<ModuleContext, 'state' | 'settings' | 'exec' | 'log' | 'clock'>;

export function banService(backend: BanBackend, ctx: BanServiceContext): BanService {
  return ctx.state.part(`bans.${backend.name}`, () => {
    const section = ctx.settings.section(backend.section);
    const command = backendCommand(backend, section);
    let store: BanStore;
    return {
      backend,
      command,
      queue: new BanQueue(backend, command, ctx.exec, ctx.log, { maxBatch: batchSize(section), commandTimeoutMs: commandTimeout(section) }),
      store: (store = openBanStore(backend, ctx.settings, ctx.log, { persist: ctx.state.options.persist, nowMicros: () => ctx.clock.nowMicros() })),
      // the checkpoint waits for the store: a ban still queued for the firewall is re-applied from it at start
      makeDurable() {
        if (!store.flush()) throw new Error(`the ${backend.name} ban store could not be written`);
      },
    };
  });
}

// a flood of garbage must not flood the log: the first ones, then one in a thousand
const LOGGED_FIRST = 10;
const LOG_EVERY = 1000;

/** An action instance banning the address of `args.field` through `backend`. */
export function createBanStep(backend: BanBackend, args: BanStepArgs, ctx: ModuleContext): ActionInstance {
  for (const [set, arg] of [[args.setV4, args.setV4Arg], [args.setV6, args.setV6Arg]] as const) {
    const problem = backend.checkSet(set);
    if (problem) throw new ConfigError('E_BAD_ARGS', problem, arg);
  }
  // the daemon makes these sets and their drop rules (firewall-setup.ts), includes and parameters resolved
  const named = ctx.state.part(NAMED_SETS_PART, () => new Map<string, NamedSet>());
  const banSeconds = args.banSeconds;
  addNamedSet(named, { backend: backend.name, set: args.setV4, family: 4, prefixes: false, banSeconds });
  addNamedSet(named, { backend: backend.name, set: args.setV6, family: 6, prefixes: args.banIPv6Prefix !== undefined && args.banIPv6Prefix < 128, banSeconds });
  const service = banService(backend, ctx);
  const { store, queue } = service;
  const lapi = args.crowdsec ? banPublisher(ctx, 'crowdsec') : undefined;
  const banMicros = args.banSeconds === undefined ? undefined : args.banSeconds * 1e6;
  let rejected = 0;

  const reject = (raw: unknown) => {
    rejected++;
    if (rejected > LOGGED_FIRST && rejected % LOG_EVERY !== 0) return;
    ctx.log.warn(`${ctx.label}: no ban, field ${args.field} is not an IP address: ${preview(raw)} (${rejected} so far)`);
  };

  const ban = (entry: Entry): void | Promise<void> => {
    const raw = entry[args.field];
    // a network filter before the ban has usually parsed this same value for this entry
    const ip = cachedParseIp(raw);
    if (!ip) { reject(raw); return; }
    const set = ip.family === 4 ? args.setV4 : args.setV6;
    const target = ip.family === 6 && args.banIPv6Prefix !== undefined && args.banIPv6Prefix < 128
      ? parseNetwork(`${ip.text}/${args.banIPv6Prefix}`)!.text
      : ip.text;
    const now = ctx.clock.nowMicros();
    const eventTime = typeof entry.__REALTIME_TIMESTAMP === 'number' ? entry.__REALTIME_TIMESTAMP : now;
    const until = banMicros === undefined ? 0 : eventTime + banMicros;
    const seconds = remainingSeconds(until, now, args.banSeconds);
    // a backlog replayed after downtime must not re-ban offenders whose ban is already over
    if (seconds !== undefined && seconds <= 0) return;

    // recorded before the command runs: even if it fails, `bans restore` applies it
    const stillBanned = store.put({ set, ip: target, until, reason: ctx.label }, now);
    lapi?.publish({ value: target, until, at: eventTime });
    // Pyruse compat: re-banning first deletes, so the new timeout replaces the old one
    return queue.submit({ set, ip: target, seconds, replace: stillBanned !== undefined });
  };

  return {
    reads: [args.field],
    start() {
      store.load();
      lapi?.start();
    },
    act(entry) {
      try {
        return ban(entry);
      } catch (e) {
        // never out of the daemon: a ban that cannot be made is logged, the next entry goes on
        ctx.log.error(`${ctx.label}: ban failed: ${(e as Error).message}`);
        return undefined;
      }
    },
    async stop() {
      await queue.drain();
      store.flush();
      await lapi?.stop();
    },
  };
}

/** `maxBatch` of the backend's config section: most bans merged into one firewall command. */
function batchSize(section: Record<string, unknown>): number | undefined {
  return typeof section.maxBatch === 'number' ? section.maxBatch : undefined;
}

/** `timeoutSeconds` of the backend's config section: deadline of one firewall command. */
function commandTimeout(section: Record<string, unknown>): number | undefined {
  return typeof section.timeoutSeconds === 'number' ? section.timeoutSeconds * 1000 : undefined;
}

/** A log-safe view of a hostile value: quoted, escaped, cut. */
function preview(raw: unknown): string {
  if (raw === undefined) return '(missing)';
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw) ?? String(raw);
  return text.length > 64 ? `${JSON.stringify(text.slice(0, 64))}… (${text.length} chars)` : JSON.stringify(text);
}
