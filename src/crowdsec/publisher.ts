import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '../system/log.js';
import { LapiClient, LapiError, type LapiAlert, type LapiDecision } from './client.js';
import { Outbox, type OutboxItem } from './outbox.js';
import type { LapiSettings } from './settings.js';

export const OUTBOX_FILE = 'crowdsec-outbox.json';
/** LAPI wants a duration for every decision: a permanent ban is published for ten years. */
const PERMANENT_DURATION = '87600h';
/** The `origin` of every decision peruse publishes. */
export const PERUSE_ORIGIN = 'peruse';

export interface PublisherOptions {
  storage: string;
  /** False in check and dry-run: no file is written. */
  persist: boolean;
  log: Logger;
  nowMicros: () => number;
}

/**
 * Publishes bans to LAPI as alerts, off the chain's path: `publish` only queues (in memory and
 * in the outbox file) and returns; one loop sends what queued meanwhile in one POST (up to
 * maxBatch decisions: one alert per scenario), and while LAPI is down retries with backoff, the
 * queue growing on disk, nothing lost and the journal never held back.
 */
export class Publisher {
  readonly client: LapiClient;
  /** Decisions LAPI acknowledged, and POST /v1/alerts calls that carried them (the bench reads them). */
  published = 0;
  posts = 0;
  private readonly outbox: Outbox;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private sending: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  private seq = 0;
  // node:os by require: its module facade would load at every start, crowdsec configured or not
  private readonly batchPrefix = `${(createRequire(import.meta.url)('node:os') as typeof import('node:os')).hostname()}-${process.pid}-${Date.now().toString(36)}`;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly settings: LapiSettings, private readonly options: PublisherOptions) {
    this.client = new LapiClient(settings);
    this.outbox = new Outbox(options.persist ? path.join(options.storage, OUTBOX_FILE) : undefined, options.log);
  }

  get queued(): number {
    return this.outbox.size;
  }

  /** Loads the outbox left by the last run and starts sending. Idempotent (every publishing step calls it). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.outbox.load();
    this.sending = this.loop();
  }

  /** Queues a ban for LAPI; never waits. */
  publish(item: OutboxItem): void {
    this.outbox.add(item);
    this.wake?.();
  }

  /** Writes the outbox now: called before the checkpoint is saved, so the cursor never runs ahead of it. */
  flush(): void {
    this.outbox.flush();
  }

  /** Resolves once nothing is queued (tests, bench). */
  idle(): Promise<void> {
    if (this.outbox.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Sends what it can within `graceMs` (a replay's last bans), then stops; what is left stays in
   * the outbox for the next start. Idempotent.
   */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    const timeout = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    if (this.started && this.failures === 0) await Promise.race([this.idle(), timeout(graceMs)]);
    this.stopped = true;
    this.wake?.();
    if (this.sending) await Promise.race([this.sending, timeout(200)]);
    this.outbox.flush();
    if (this.outbox.size > 0) this.options.log.notice(`crowdsec: ${this.outbox.size} bans kept in ${OUTBOX_FILE} for the next start`);
    await this.client.destroy();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.outbox.dropExpired(this.options.nowMicros());
      if (this.outbox.size === 0) {
        for (const release of this.idleWaiters.splice(0)) release();
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = undefined;
        continue;
      }
      const batch = this.outbox.take(this.settings.maxBatch, () => `${this.batchPrefix}-${++this.seq}`);
      try {
        await this.send(batch);
        if (this.failures > 0) this.options.log.notice(`crowdsec: LAPI reachable again; ${this.outbox.size} bans still queued`);
        this.failures = 0;
      } catch (e) {
        if (e instanceof LapiError && (e.status === 400 || e.status === 422) && batch.length > 0) {
          // LAPI will refuse this batch every time: retrying it would hold every later ban back
          this.options.log.error(`${e.message}; dropped ${batch.length} decisions (${batch.slice(0, 3).map((i) => i.value).join(', ')}${batch.length > 3 ? ' …' : ''}); they stay banned locally`);
          this.outbox.done(batch[0]!.batch!);
          continue;
        }
        await this.backoff(e as Error);
      }
    }
  }

  private async send(batch: OutboxItem[]): Promise<void> {
    const id = batch[0]!.batch!;
    // a batch marked before may have reached LAPI (no answer, or peruse killed): look before sending again
    if (batch[0]!.sentOnce && (await this.landed(batch[0]!))) {
      this.options.log.info(`crowdsec: batch ${id} had already reached LAPI; not sent again`);
      this.outbox.done(id);
      return;
    }
    for (const item of batch) item.sentOnce = true;
    const now = this.options.nowMicros();
    const alerts = toAlerts(batch, id, now);
    if (alerts.length > 0) {
      this.posts++;
      await this.client.pushAlerts(alerts);
      this.published += batch.length;
    }
    this.outbox.done(id);
  }

  private async landed(item: OutboxItem): Promise<boolean> {
    const found = await this.client.findAlerts({ [item.value.includes('/') ? 'range' : 'ip']: item.value, scenario: item.scenario });
    return found.some((alert) => (alert.meta ?? []).some((m) => m.key === 'peruse_batch' && m.value === item.batch));
  }

  private async backoff(error: Error): Promise<void> {
    const delays = this.settings.retryMs;
    const delay = delays[Math.min(this.failures, delays.length - 1)]!;
    this.failures++;
    const transient = error instanceof LapiError ? error.transient : false;
    // one line when LAPI goes away, then one every tenth attempt: an outage must not flood the log
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.options.log[transient ? 'warn' : 'error'](`${error.message}; ${this.outbox.size} bans queued, retrying in ${delay / 1000} s (attempt ${this.failures})`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      timer.unref();
      this.wake = () => { if (this.stopped) { clearTimeout(timer); resolve(); } };
    });
    this.wake = undefined;
  }
}

/** One alert per scenario of the batch; a lone ban's alert has the address as its source, as a CrowdSec agent's. */
export function toAlerts(batch: readonly OutboxItem[], batchId: string, nowMicros: number): LapiAlert[] {
  const byScenario = new Map<string, OutboxItem[]>();
  for (const item of batch) {
    if (item.until !== 0 && item.until <= nowMicros) continue; // ended while queued
    let group = byScenario.get(item.scenario);
    if (!group) byScenario.set(item.scenario, (group = []));
    group.push(item);
  }
  const alerts: LapiAlert[] = [];
  for (const [scenario, items] of byScenario) {
    const decisions: LapiDecision[] = items.map((item) => ({
      origin: PERUSE_ORIGIN, type: 'ban', scope: scopeOf(item.value), value: item.value, scenario,
      // what is left of the ban now, as a local ban gets: event time + banSeconds − now
      duration: item.until === 0 ? PERMANENT_DURATION : `${Math.ceil((item.until - nowMicros) / 1e6)}s`,
    }));
    const first = items[0]!;
    const times = items.map((i) => i.at);
    const source = items.length === 1
      ? { scope: scopeOf(first.value), value: first.value, ...(first.value.includes('/') ? { range: first.value } : { ip: first.value }) }
      : { scope: 'peruse/batch', value: batchId };
    alerts.push({
      scenario, scenario_hash: '', scenario_version: '',
      message: items.length === 1 ? `peruse ${scenario} banned ${first.value}` : `peruse ${scenario} banned ${items.length} addresses`,
      events_count: items.length,
      start_at: new Date(Math.min(...times) / 1000).toISOString(),
      stop_at: new Date(Math.max(...times) / 1000).toISOString(),
      capacity: 0, leakspeed: '0', simulated: false, events: [], remediation: true,
      source,
      meta: [{ key: 'peruse_batch', value: batchId }],
      decisions,
    });
  }
  return alerts;
}

function scopeOf(value: string): 'Ip' | 'Range' {
  return value.includes('/') ? 'Range' : 'Ip';
}
