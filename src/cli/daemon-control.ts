// What the running daemon answers on its control socket: `status` (its figures), `ban` and `unban`
// (through its own ban stores, so the command line never races the daemon on the store file).
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { BACKENDS, type BanBackend } from '../net/ban-commands.js';
import { mergeNamedSets, namedBanSets, recordedSets, setupFirewall } from '../net/firewall-setup.js';
import { openBanStore } from '../state/ban-restore.js';
import { banAddress, unbanAddress, type StoreFor } from '../state/ban-admin.js';
import type { BanStore } from '../state/bans.js';
import { SENT_REPORT_FILE } from '../state/report.js';
import type { State } from '../state/state.js';
import { controlSocketPath, serveControl, type ControlRequest, type ControlServer } from '../system/control-socket.js';
import { spawnRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import type { Program } from '../workflow/program.js';

/** The daemon as the control socket sees it; read at each request. */
export interface DaemonView {
  startedAt: number;
  configFile: string;
  loadedAt(): number;
  settings(): Settings;
  program(): Program;
  state(): State;
  entries(): number;
  cursor(): string | undefined;
  lastEventMicros(): number | undefined;
  journalRestarts(): number;
  emailsSent(): number;
  emailsFailed(): number;
}

export interface DaemonStatus {
  pid: number;
  upSince: string;
  uptimeSeconds: number;
  config: { file: string; loadedAt: string };
  journal: { cursor: string | null; lastEntryTime: string | null; lagSeconds: number | null; journalctlRestarts: number };
  entries: { total: number; perSecond: number };
  bans: { active: Record<string, Record<string, number>>; lastHour: number };
  emails: { sent: number; failed: number; lastHour: number };
  stepErrors: Record<string, number>;
  lastReportSent: string | null;
}

const SAMPLE_MS = 5000;
const HOUR_MS = 3600_000;
const RATE_WINDOW_MS = 60_000;

interface Sample { at: number; entries: number; bans: number; emails: number }

/** Opens the control socket of a daemon; the returned server is closed at shutdown. */
export async function startControl(view: DaemonView, log: Logger): Promise<ControlServer | undefined> {
  const control = new DaemonControl(view, log);
  const server = await serveControl(controlSocketPath(), (request) => control.handle(request), log);
  if (!server) { control.stop(); return undefined; }
  return { path: server.path, close: () => { control.stop(); server.close(); } };
}

class DaemonControl {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;
  /** Ban-step hits of the programs replaced by reloads, so the total only grows. */
  private banHitsBefore = 0;
  private lastProgram: Program | undefined;
  private lastProgramHits = 0;
  private manualBans = 0;
  private readonly ownStores = new Map<string, BanStore>();
  private readonly banSteps = new WeakMap<Program, number[]>();

  constructor(private readonly view: DaemonView, private readonly log: Logger) {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async handle(request: ControlRequest): Promise<unknown> {
    switch (request.command) {
      case 'ping':
        return { ok: true };
      case 'status':
        return this.status();
      case 'ban':
      case 'unban': {
        // the command line asked about another config: its store is not this daemon's
        if (typeof request.config === 'string' && !sameFile(request.config, this.view.configFile)) {
          return { error: 'other-config', configFile: this.view.configFile };
        }
        const settings = this.view.settings();
        const now = Date.now() * 1000;
        if (request.command === 'unban') {
          return unbanAddress(settings, String(request.address), typeof request.set === 'string' ? request.set : undefined,
            this.storeFor, spawnRunner, this.log, now);
        }
        const seconds = request.seconds === null ? null : typeof request.seconds === 'number' ? request.seconds : undefined;
        const known = mergeNamedSets(namedBanSets(settings.rawConfig), recordedSets(this.view.state()));
        const outcome = await banAddress(settings, { address: String(request.address), set: typeof request.set === 'string' ? request.set : undefined, seconds },
          this.storeFor, spawnRunner, now, { known, prepare: async (named) => { await setupFirewall(settings, this.log, spawnRunner, [...known, named]); } });
        if (outcome.code === 0) this.manualBans++;
        for (const line of outcome.out) this.log.notice(`control: ${line}`);
        return outcome;
      }
      default:
        return { error: `unknown command ${JSON.stringify(request.command)}` };
    }
  }

  /** The daemon's own store of a backend (the one its ban steps write), or one opened for it. */
  private readonly storeFor: StoreFor = (backend: BanBackend) => {
    const state = this.view.state();
    const part = `bans.${backend.name}`;
    if (state.has(part)) {
      const service = state.part<{ store?: BanStore }>(part, () => ({}));
      if (service.store) return service.store;
    }
    let store = this.ownStores.get(backend.name);
    if (!store) {
      store = openBanStore(backend, this.view.settings(), this.log, { persist: true, nowMicros: () => Date.now() * 1000 });
      this.ownStores.set(backend.name, store);
    }
    return store;
  };

  private sample(): void {
    const now = Date.now();
    this.samples.push({ at: now, entries: this.view.entries(), bans: this.banTotal(), emails: this.view.emailsSent() });
    while (this.samples.length > 2 && this.samples[1]!.at <= now - HOUR_MS) this.samples.shift();
  }

  /** Ban actions run since start: hits of the ban steps of every program, plus bans asked through the socket. */
  private banTotal(): number {
    const program = this.view.program();
    if (program !== this.lastProgram) {
      this.banHitsBefore += this.lastProgramHits;
      this.lastProgram = program;
    }
    let hits = 0;
    for (const step of this.banStepsOf(program)) hits += program.hits[step]!;
    this.lastProgramHits = hits;
    return this.banHitsBefore + hits + this.manualBans;
  }

  private banStepsOf(program: Program): number[] {
    let steps = this.banSteps.get(program);
    if (!steps) {
      const actions = (this.view.settings().rawConfig.actions ?? {}) as Record<string, unknown>;
      steps = [];
      for (let i = 0; i < program.size; i++) {
        const label = program.labels[i]!;
        const bracket = label.lastIndexOf('[');
        const chain = actions[label.slice(0, bracket)];
        const step = Array.isArray(chain) ? (chain[Number(label.slice(bracket + 1, -1))] as { action?: unknown } | undefined) : undefined;
        if (step?.action === 'action_nftBan' || step?.action === 'action_ipsetBan') steps.push(i);
      }
      this.banSteps.set(program, steps);
    }
    return steps;
  }

  /** The first sample at or after `since`, or the oldest one. */
  private sampleSince(since: number): Sample {
    return this.samples.find((s) => s.at >= since) ?? this.samples[0]!;
  }

  status(): DaemonStatus {
    const now = Date.now();
    const current: Sample = { at: now, entries: this.view.entries(), bans: this.banTotal(), emails: this.view.emailsSent() };
    const minuteAgo = this.sampleSince(now - RATE_WINDOW_MS);
    const hourAgo = this.sampleSince(now - HOUR_MS);
    const elapsed = (now - minuteAgo.at) / 1000;
    const active: Record<string, Record<string, number>> = {};
    for (const backend of BACKENDS) {
      const state = this.view.state();
      if (!state.has(`bans.${backend.name}`) && !this.ownStores.has(backend.name)) continue;
      for (const ban of this.storeFor(backend).holding(now * 1000)) {
        const sets = (active[backend.name] ??= {});
        sets[ban.set] = (sets[ban.set] ?? 0) + 1;
      }
    }
    const program = this.view.program();
    const stepErrors: Record<string, number> = {};
    for (let i = 0; i < program.size; i++) {
      if (program.errors[i]! > 0) stepErrors[program.labels[i]!] = (stepErrors[program.labels[i]!] ?? 0) + program.errors[i]!;
    }
    const lastEvent = this.view.lastEventMicros();
    return {
      pid: process.pid,
      upSince: new Date(this.view.startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.view.startedAt) / 1000),
      config: { file: this.view.configFile, loadedAt: new Date(this.view.loadedAt()).toISOString() },
      journal: {
        cursor: this.view.cursor() ?? null,
        lastEntryTime: lastEvent === undefined ? null : new Date(lastEvent / 1000).toISOString(),
        lagSeconds: lastEvent === undefined ? null : Math.max(0, Math.round((now * 1000 - lastEvent) / 1e4) / 100),
        journalctlRestarts: this.view.journalRestarts(),
      },
      entries: { total: current.entries, perSecond: elapsed > 0 ? Math.round(((current.entries - minuteAgo.entries) / elapsed) * 10) / 10 : 0 },
      bans: { active, lastHour: current.bans - hourAgo.bans },
      emails: { sent: current.emails, failed: this.view.emailsFailed(), lastHour: current.emails - hourAgo.emails },
      stepErrors,
      lastReportSent: lastReportSent(this.view.settings()),
    };
  }
}

/** When the last report was sent: the sent report file is renamed into place at each sending. */
function lastReportSent(settings: Settings): string | null {
  try {
    return statSync(path.join(settings.storage, SENT_REPORT_FILE)).ctime.toISOString();
  } catch {
    return null;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}
