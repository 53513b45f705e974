import { ConfigError } from '../config/errors.js';
import { ipsetBackend, nftBackend, remainingSeconds, type BanBackend } from '../net/ban-commands.js';
import { banService, type BanService, type BanServiceContext } from '../net/ban-step.js';
import { parseIp } from '../net/ip.js';
import { canonicalBanTarget } from '../state/bans.js';
import { LapiClient, LapiError, type LapiDecision } from './client.js';
import { parseGoDuration } from './duration.js';
import { lapiSettings, type LapiSettings } from './settings.js';
import type { Settings } from '../config/settings.js';

/**
 * A LAPI decision shorter than the ban already held, by at most this, is the same ban (this
 * host's own decision coming back, or another host's of the same attack): applying it again
 * would only rewrite the element. Bans pulled from LAPI are never published again either.
 */
const SAME_BAN_SLACK_MICROS = 60e6;
export const LAPI_ORIGIN_PREFIX = 'lapi:';
/**
 * LAPI (1.4) answers a delta with the decisions created after the bouncer's previous read; one
 * created just before that read but committed just after it is in no delta ever (its timestamp
 * is taken before its transaction commits). So the whole list is read again (and reconciled) a
 * little after every delta that brought something, and every `resyncSeconds` anyway.
 */
const RESYNC_AFTER_CHANGE_MS = 3000;

type Bouncer = NonNullable<LapiSettings['bouncer']>;

/**
 * `peruse run` as a CrowdSec bouncer: reads `/v1/decisions/stream` (everything at start, then
 * what changed, every pollSeconds) and applies its bans to the configured sets through the same
 * store, command queue (batching, retries) and boot restore as the ban steps.
 */
export class LapiBouncer {
  readonly client: LapiClient;
  /** Decisions applied, skipped (already held), removed: for the logs, tests and bench. */
  applied = 0;
  skipped = 0;
  removed = 0;
  polls = 0;
  private readonly service: BanService;
  private readonly bouncer: Bouncer;
  /** Active LAPI decision ids by "set address": a ban goes only when its last decision does. */
  private readonly decisions = new Map<string, Map<number, number>>();
  private synced = false;
  private resyncAt = 0;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly pollWaiters: (() => void)[] = [];

  constructor(private readonly settings: LapiSettings, private readonly ctx: BanServiceContext) {
    this.bouncer = settings.bouncer!;
    const backend: BanBackend = this.bouncer.backend === 'nft' ? nftBackend : ipsetBackend;
    for (const set of [this.bouncer.setV4, this.bouncer.setV6]) {
      const problem = backend.checkSet(set);
      if (problem) throw new ConfigError('E_BAD_ARGS', `crowdsec.bouncer: ${problem}`, 'crowdsec');
    }
    this.client = new LapiClient(settings);
    this.service = banService(backend, ctx);
  }

  start(): void {
    this.service.store.load();
    this.running = this.poll();
  }

  /** Resolves after the next complete poll (tests, bench). */
  nextPoll(): Promise<void> {
    return new Promise((resolve) => this.pollWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client.destroy();
    await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    await this.service.queue.drain();
    this.service.store.flush();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    let delay = this.bouncer.pollMs;
    try {
      const startup = !this.synced || Date.now() >= this.resyncAt;
      const stream = await this.client.stream(startup, { scopes: this.bouncer.scopes, origins: this.bouncer.origins });
      this.polls++;
      this.apply(stream.new, stream.deleted, startup);
      this.synced = true;
      if (startup) this.resyncAt = Date.now() + this.bouncer.resyncMs;
      else if (stream.new.length > 0) this.resyncAt = Math.min(this.resyncAt, Date.now() + RESYNC_AFTER_CHANGE_MS);
      if (this.failures > 0) this.ctx.log.notice(`crowdsec: decision stream reachable again after ${this.failures} failed reads`);
      this.failures = 0;
      for (const release of this.pollWaiters.splice(0)) release();
    } catch (e) {
      if (this.stopped) return;
      this.failures++;
      const retry = this.settings.retryMs;
      delay = Math.min(this.bouncer.pollMs, retry[Math.min(this.failures - 1, retry.length - 1)]!);
      if (this.failures === 1 || this.failures % 10 === 0) {
        const transient = e instanceof LapiError && e.transient;
        this.ctx.log[transient ? 'warn' : 'error'](`${(e as Error).message}; reading the decision stream again in ${delay / 1000} s (attempt ${this.failures})`);
      }
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => { this.running = this.poll(); }, delay);
  }

  /** Applies one answer of the stream; `startup`: the full list, so a pulled ban absent from it was deleted meanwhile. */
  private apply(added: LapiDecision[], deleted: LapiDecision[], startup: boolean): void {
    const now = Date.now() * 1000;
    const { store } = this.service;
    if (startup) this.decisions.clear();
    for (const decision of deleted) {
      const target = this.target(decision);
      if (!target || typeof decision.id !== 'number') continue;
      const key = `${target.set} ${target.value}`;
      const ids = this.decisions.get(key);
      ids?.delete(decision.id);
      if (ids && ids.size > 0) continue;
      this.decisions.delete(key);
      // the full list is authoritative: what it lacks goes below
      if (!startup) this.unban(target.set, target.value);
    }
    for (const decision of added) {
      const target = this.target(decision);
      const seconds = parseGoDuration(decision.duration);
      if (!target || seconds === undefined || seconds <= 0) continue;
      const until = now + Math.ceil(seconds) * 1e6;
      const key = `${target.set} ${target.value}`;
      let ids = this.decisions.get(key);
      if (!ids) this.decisions.set(key, (ids = new Map()));
      if (typeof decision.id === 'number') ids.set(decision.id, until);
      const held = store.get(target.set, target.value);
      if (held && (held.until === 0 || held.until > now) && (held.until === 0 || held.until >= until - SAME_BAN_SLACK_MICROS)) {
        this.skipped++;
        continue;
      }
      const stillBanned = store.put({ set: target.set, ip: target.value, until, reason: decision.scenario, origin: `${LAPI_ORIGIN_PREFIX}${decision.origin}` }, now);
      void this.service.queue.submit({ set: target.set, ip: target.value, seconds: remainingSeconds(until, now), replace: stillBanned !== undefined });
      this.applied++;
    }
    if (startup) {
      // deleted in LAPI while peruse was down: the store still had them, the full list has not
      for (const ban of store.all()) {
        if (!ban.origin?.startsWith(LAPI_ORIGIN_PREFIX) || this.decisions.has(`${ban.set} ${ban.ip}`)) continue;
        if (ban.set !== this.bouncer.setV4 && ban.set !== this.bouncer.setV6) continue;
        this.unban(ban.set, ban.ip);
      }
    }
  }

  /** Only bans pulled from LAPI go when LAPI deletes them: a ban of this host's own steps stays. */
  private unban(set: string, value: string): void {
    const held = this.service.store.get(set, value);
    if (!held?.origin?.startsWith(LAPI_ORIGIN_PREFIX)) return;
    this.service.store.remove(set, value);
    this.service.queue.unban(set, value);
    this.removed++;
  }

  /** The set and canonical address of a ban decision of a wanted scope; undefined for anything else (never reaches a command). */
  private target(decision: LapiDecision): { set: string; value: string } | undefined {
    if (typeof decision?.type !== 'string' || decision.type.toLowerCase() !== 'ban') return undefined;
    const scope = typeof decision.scope === 'string' ? decision.scope.toLowerCase() : '';
    if (!this.bouncer.scopes.includes(scope)) return undefined;
    const value = canonicalBanTarget(decision.value);
    if (!value || (scope === 'ip') !== !value.includes('/')) return undefined;
    const family = parseIp(value.split('/')[0])?.family;
    if (family === undefined) return undefined;
    return { set: family === 4 ? this.bouncer.setV4 : this.bouncer.setV6, value };
  }
}

/** The daemon's bouncer when the config has `crowdsec.bouncer`; started. An unusable section is logged, never fatal. */
export function startLapiBouncer(settings: Settings, ctx: Omit<BanServiceContext, 'settings'>): LapiBouncer | undefined {
  try {
    const lapi = lapiSettings(settings);
    if (!lapi?.bouncer) return undefined;
    const bouncer = new LapiBouncer(lapi, { ...ctx, settings });
    bouncer.start();
    ctx.log.notice(`crowdsec: following the decision stream of ${lapi.url} into ${lapi.bouncer.setV4} and ${lapi.bouncer.setV6}`);
    return bouncer;
  } catch (e) {
    ctx.log.error(`crowdsec: the bouncer does not run: ${(e as Error).message}`);
    return undefined;
  }
}
