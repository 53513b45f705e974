import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { State } from '../state/state.js';
import type { Program } from '../workflow/program.js';
import type { Logger } from './log.js';

/** What the endpoint reads at each scrape: nothing is counted twice on the hot path. */
export interface MetricsView {
  program(): Program;
  state(): State;
  entries(): number;
  ownLinesSkipped(): number;
  journalRestarts(): number;
  /** Event time (µs) of the last processed entry. */
  lastEventMicros(): number | undefined;
  emails(): { sent: number; failed: number };
}

/** Sets a prom-client counter to an absolute total read elsewhere (counters only go up, so inc by the delta). */
function setTotal(counter: Counter<string>, labels: Record<string, string>, total: number, seen: Map<string, number>): void {
  const key = JSON.stringify(labels);
  const before = seen.get(key) ?? 0;
  if (total > before) counter.inc(labels, total - before);
  // a reload recompiles the program from zero: keep the exported total monotonic
  seen.set(key, Math.max(before, total));
}

export function createMetricsRegistry(view: MetricsView): Registry {
  const registry = new Registry();
  const seen = new Map<string, number>();
  let base = new Map<string, { hits: number; passes: number; errors: number }>();
  let lastProgram: Program | undefined;

  new Counter({ name: 'peruse_entries_total', help: 'Journal entries processed.', registers: [registry],
    collect() { setTotal(this, {}, view.entries(), seen); } });
  new Counter({ name: 'peruse_own_lines_skipped_total', help: 'Diagnostics the daemon wrote itself on this boot (its PID), not processed (no feedback loop).', registers: [registry],
    collect() { setTotal(this, {}, view.ownLinesSkipped(), seen); } });
  new Counter({ name: 'peruse_journalctl_restarts_total', help: 'Times journalctl was restarted.', registers: [registry],
    collect() { setTotal(this, {}, view.journalRestarts(), seen); } });

  const stepTotals = () => {
    const program = view.program();
    if (program !== lastProgram) {
      // after a reload the new program counts from 0: add what the old one had counted
      if (lastProgram) base = sumSteps(lastProgram, base);
      lastProgram = program;
    }
    return sumSteps(program, base);
  };
  const stepCounter = (name: string, help: string, pick: (t: { hits: number; passes: number; errors: number }) => number) =>
    new Counter({ name, help, labelNames: ['chain', 'step'], registers: [registry],
      collect() { for (const [label, t] of stepTotals()) setTotal(this, { chain: chainOf(label), step: label }, pick(t), seen); } });
  stepCounter('peruse_step_hits_total', 'Entries that reached a step.', (t) => t.hits);
  stepCounter('peruse_step_passes_total', 'Entries a filter step let through.', (t) => t.passes);
  stepCounter('peruse_step_errors_total', 'Errors thrown by a step.', (t) => t.errors);

  new Counter({ name: 'peruse_emails_total', help: 'Emails handed to the mailer, by result.', labelNames: ['result'], registers: [registry],
    collect() { const e = view.emails(); setTotal(this, { result: 'sent' }, e.sent, seen); setTotal(this, { result: 'failed' }, e.failed, seen); } });
  new Gauge({ name: 'peruse_bans_active', help: 'Bans currently recorded, by backend.', labelNames: ['backend'], registers: [registry],
    collect() {
      for (const backend of ['nft', 'ipset']) {
        const state = view.state();
        if (!state.has(`bans.${backend}`)) continue;
        const service = state.part<{ store?: { size?: number } }>(`bans.${backend}`, () => ({}));
        if (typeof service.store?.size === 'number') this.set({ backend }, service.store.size);
      }
    } });
  // the config's LAPI publisher (docs/cluster.md), read without creating it
  const publisher = () => view.state().part<{ queued?: number } | undefined>('crowdsec.publisher', () => undefined);
  new Gauge({ name: 'peruse_crowdsec_queued', help: 'Bans waiting in the outbox to reach CrowdSec\'s LAPI.', registers: [registry],
    collect() { const p = publisher(); if (typeof p?.queued === 'number') this.set(p.queued); } });
  new Gauge({ name: 'peruse_dnat_mappings', help: 'Live DNAT mappings.', registers: [registry],
    collect() { const state = view.state(); this.set(state.has('dnat') ? state.dnat.size : 0); } });
  new Gauge({ name: 'peruse_journal_lag_seconds', help: 'Wall clock minus the time of the last processed entry.', registers: [registry],
    collect() { const t = view.lastEventMicros(); if (t !== undefined) this.set(Math.max(0, (Date.now() * 1000 - t) / 1e6)); } });
  new Gauge({ name: 'peruse_resident_memory_bytes', help: 'Resident set size of the daemon.', registers: [registry],
    collect() { this.set(process.memoryUsage.rss()); } });
  return registry;
}

function chainOf(label: string): string {
  const bracket = label.lastIndexOf('[');
  return bracket > 0 ? label.slice(0, bracket) : label;
}

function sumSteps(program: Program, base: Map<string, { hits: number; passes: number; errors: number }>) {
  const out = new Map<string, { hits: number; passes: number; errors: number }>();
  for (const [label, t] of base) out.set(label, { ...t });
  for (let i = 0; i < program.size; i++) {
    const label = program.labels[i]!;
    let t = out.get(label);
    if (!t) out.set(label, t = { hits: 0, passes: 0, errors: 0 });
    t.hits += program.hits[i]!;
    t.passes += program.passes[i]!;
    t.errors += program.errors[i]!;
  }
  return out;
}

/** Serves GET /metrics on loopback (by default); resolves once listening. */
export async function serveMetrics(options: { port: number; host?: string }, registry: Registry, log: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url !== '/metrics' && request.url !== '/')) {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => { server.close(); reject(error); };
    server.once('error', refused);
    server.listen(options.port, host, () => { server.off('error', refused); resolve(); });
  });
  log.info(`metrics on http://${host.includes(':') ? `[${host}]` : host}:${options.port}/metrics`);
  return server;
}
