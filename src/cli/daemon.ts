import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Services } from '../config/build.js';
import { startLapiBouncer, type LapiBouncer } from '../crowdsec/bouncer.js';
import type { Settings } from '../config/settings.js';
import { makeByteDecoder } from '../journal/fields.js';
import { JournalSource, type StartPosition } from '../journal/source.js';
import type { Entry } from '../modules/api.js';
import { recordedSets, setupFirewall } from '../net/firewall-setup.js';
import { restoreBans } from '../state/ban-restore.js';
import { resumeFromCheckpoint, saveCheckpoint, type Checkpoint } from '../state/persist.js';
import { refuseIrregularStateFiles } from '../state/state-files.js';
import type { State } from '../state/state.js';
import { killRunningCommands, spawnRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import type { ControlServer } from '../system/control-socket.js';
import type { Mailer } from '../system/mailer-api.js';
import { createMetricsRegistry, serveMetrics } from '../system/metrics.js';
import { fieldsRead, type Program } from '../workflow/program.js';
import { createProcessor, type EntryProcessor } from '../workflow/run.js';
import { startControl } from './daemon-control.js';
import { makeServices, EntryClock, wallClock } from './services.js';
import { openConfig, printIssues, type OpenedConfig } from './setup.js';

const SAVE_EVERY_MS = 1000;
const CURRENT_BOOT = readBootId();

/**
 * The daemon's own diagnostics (its stderr, which systemd hands to the journal under the daemon's
 * PID) are not pushed through the workflow: a chain matching them could feed itself for ever.
 * What action_log wrote (through systemd-cat, another PID) is processed, as Pyruse does: recidive
 * chains count those lines; a chain matching its own output is cut by the writer (MAX_GENERATIONS).
 * Lines of other hosts, earlier boots or earlier daemon processes are processed normally.
 */
export function isOwnLine(entry: Entry, bootId: string | undefined = CURRENT_BOOT, pid: number = process.pid): boolean {
  return bootId !== undefined && entry._BOOT_ID === bootId && Number(entry._PID) === pid;
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
  } catch {
    return undefined;
  }
}

/** One loaded config: a program with its state and services. SIGHUP builds the next one. */
interface Generation {
  opened: OpenedConfig;
  settings: Settings;
  program: Program;
  process: EntryProcessor;
  services: Services;
}

/** The composition root of `peruse run`: config, state, checkpoint, journal, metrics, timers. */
export class Daemon {
  private generation!: Generation;
  private source!: JournalSource;
  private readonly clock = new EntryClock();
  private cursor: string | undefined;
  private eventTime: number | undefined;
  private savedCursor: string | undefined;
  private inFlight = false;
  private saveDue = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private metricsServer: Server | undefined;
  private readonly emails = { sent: 0, failed: 0 };
  private reloading: Promise<void> | undefined;
  private control: ControlServer | undefined;
  private readonly startedAt = Date.now();
  private loadedAt = Date.now();
  /** Follows CrowdSec's decision stream when the config has crowdsec.bouncer (docs/cluster.md). */
  bouncer: LapiBouncer | undefined;
  entries = 0;
  ownLinesSkipped = 0;

  constructor(private readonly configFile: string, private readonly log: Logger) {}

  /** Loads the config; the issues are printed; undefined when it is not usable. */
  private async open(): Promise<Generation | undefined> {
    let services: Services | undefined;
    // modules read event time from each entry; their clock is "now", so a ban replayed from a
    // backlog gets only what is left of it (nothing when it already ended)
    const factory = makeServices({ log: this.log, clock: wallClock, dryRun: false, persist: true });
    const opened = await openConfig(this.configFile, (settings) => {
      services = factory(settings);
      services.mailer = this.countingMailer(services.mailer);
      return services;
    });
    printIssues(opened, (line) => (line.includes('  E_') ? this.log.error(line) : this.log.warn(line)));
    if (!opened.program || !services) return undefined;
    const program = opened.program;
    return { opened, settings: opened.settings, program, process: createProcessor(program, this.log), services };
  }

  /** Loads everything and starts following; false when the config is unusable (nothing started). */
  async start(): Promise<boolean> {
    const generation = await this.open();
    if (!generation) return false;
    this.generation = generation;
    const { settings, services } = generation;
    refuseIrregularStateFiles(settings.storage);
    const checkpoint = this.restoreCheckpoint(services.state);
    this.cursor = checkpoint?.cursor;
    this.eventTime = checkpoint?.eventTime;
    this.savedCursor = this.cursor;
    if (this.eventTime !== undefined) this.clock.current = this.eventTime;

    // the firewall may have been flushed (reboot without peruse-restore, nft reload): sets, rules, bans first
    await setupFirewall(settings, this.log, spawnRunner, recordedSets(services.state));
    await restoreBans(settings, this.log, spawnRunner);
    await this.startInstances(generation);
    this.bouncer = startLapiBouncer(settings, services);
    await this.startMetrics(settings);
    this.control = await startControl({
      startedAt: this.startedAt, configFile: this.configFile, loadedAt: () => this.loadedAt,
      settings: () => this.generation.settings, program: () => this.generation.program, state: () => this.generation.services.state,
      entries: () => this.entries, cursor: () => this.cursor, lastEventMicros: () => this.eventTime,
      journalRestarts: () => this.source?.restarts ?? 0, emailsSent: () => this.emails.sent, emailsFailed: () => this.emails.failed,
    }, this.log);

    const start: StartPosition = this.cursor !== undefined ? { after: this.cursor }
      : settings.journal.since !== undefined ? { since: settings.journal.since } : { tail: true };
    this.source = new JournalSource({
      journal: settings.journal, start, log: this.log,
      decode: makeByteDecoder(settings.encoding),
      wanted: fieldsRead(generation.program),
      onEntry: (entry) => this.onEntry(entry),
      // a refused cursor is replaced in the checkpoint by the tail journalctl restarts at
      onRestartAtTail: (cursor) => { this.cursor = cursor; },
    });
    await this.source.start();
    // a tail pinned to the journal's last entry is saved too: entries written while peruse is
    // restarted before its first entry are then not skipped
    this.cursor ??= this.source.lastCursor;
    this.log.notice(`following the journal ${describeStart(start)} with ${settings.configFile}`);
    this.saveTimer = setInterval(() => this.saveSoon(), SAVE_EVERY_MS);
    return true;
  }

  get journalctlPid(): number | undefined {
    return this.source?.pid;
  }

  private restoreCheckpoint(state: State): Checkpoint | undefined {
    const checkpoint = resumeFromCheckpoint(state, this.log);
    if (checkpoint) this.log.info(`checkpoint loaded: resuming after ${checkpoint.cursor ?? '(no cursor)'}`);
    return checkpoint;
  }

  private onEntry(entry: Entry): void | Promise<void> {
    if (isOwnLine(entry)) {
      this.ownLinesSkipped++;
      this.done(entry);
      return;
    }
    const time = entry.__REALTIME_TIMESTAMP;
    if (typeof time === 'number') this.clock.current = time;
    const pending = this.generation.process(entry);
    if (pending === undefined) {
      this.done(entry);
      return;
    }
    this.inFlight = true;
    return pending.then(() => {
      this.inFlight = false;
      this.done(entry);
    });
  }

  private done(entry: Entry): void {
    this.entries++;
    const cursor = entry.__CURSOR;
    if (typeof cursor === 'string') this.cursor = cursor;
    const time = entry.__REALTIME_TIMESTAMP;
    if (typeof time === 'number') this.eventTime = time;
    if (this.saveDue) this.save();
  }

  /** Timer: save now if no entry is half processed, else right after it (the state must match the cursor). */
  private saveSoon(): void {
    if (this.cursor === this.savedCursor) return;
    if (this.inFlight) this.saveDue = true;
    else this.save();
  }

  private save(): void {
    this.saveDue = false;
    try {
      saveCheckpoint(this.generation.services.state, this.cursor, this.eventTime);
      this.savedCursor = this.cursor;
    } catch (error) {
      this.log.error(`cannot save the checkpoint: ${(error as Error).message}`);
    }
  }

  private async startInstances(generation: Generation): Promise<void> {
    // action_dailyReport's start() arms the midnight timer itself; bans were restored before
    for (const instance of generation.program.instances) await instance.start?.();
  }

  private async stopInstances(generation: Generation): Promise<void> {
    for (const instance of generation.program.instances) {
      try {
        await instance.stop?.();
      } catch (error) {
        this.log.error(`stopping a module: ${(error as Error).message}`);
      }
    }
  }

  private async startMetrics(settings: Settings): Promise<void> {
    const metrics = settings.section<{ port: number; host?: string }>('metrics');
    if (metrics.port === undefined) return;
    const registry = createMetricsRegistry({
      program: () => this.generation.program,
      state: () => this.generation.services.state,
      entries: () => this.entries,
      ownLinesSkipped: () => this.ownLinesSkipped,
      journalRestarts: () => this.source?.restarts ?? 0,
      lastEventMicros: () => this.eventTime,
      emails: () => this.emails,
    });
    try {
      this.metricsServer = await serveMetrics({ port: metrics.port, host: metrics.host }, registry, this.log);
    } catch (error) {
      // bans matter more than their figures: a port taken by another service does not stop peruse
      const where = `${metrics.host ?? '127.0.0.1'}:${metrics.port}`;
      this.log.error(`metrics: cannot listen on ${where} (${(error as Error).message}); running without metrics`);
    }
  }

  /** Counts sends for the metrics; wraps `send` in place so the mailer's other methods (drain) keep working. */
  private countingMailer(mailer: Mailer): Mailer {
    const send = mailer.send.bind(mailer);
    mailer.send = async (message) => {
      try {
        await send(message);
        this.emails.sent++;
      } catch (error) {
        this.emails.failed++;
        throw error;
      }
    };
    return mailer;
  }

  /**
   * SIGHUP: a new config replaces the running one only if it is valid; the state carries over
   * (snapshot of the old, restored into the new), and the journal resumes after the same cursor.
   */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => { this.reloading = undefined; });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    this.log.notice(`reloading ${this.configFile}`);
    const next = await this.open();
    if (!next) {
      this.log.error(`reload rejected: ${this.configFile} has errors (above); the running config stays`);
      return;
    }
    const old = this.generation;
    this.source.hold();
    try {
      await this.source.idle();
      this.save();
      await this.stopInstances(old);
      await setupFirewall(next.settings, this.log, spawnRunner, recordedSets(next.services.state));
      await this.bouncer?.stop();
      next.services.state.restore(old.services.state.snapshot(), this.clock.nowMicros());
      this.generation = next;
      this.loadedAt = Date.now();
      await this.startInstances(next);
      this.bouncer = startLapiBouncer(next.settings, next.services);
      this.source.reconfigure(next.settings.journal, (entry) => this.onEntry(entry), fieldsRead(next.program));
    } finally {
      this.source.release();
    }
    this.log.notice(`reloaded ${this.configFile}`);
  }

  /** Finishes the entry in flight (waiting at most `graceMs`), saves the checkpoint, stops everything. */
  async shutdown(graceMs: number): Promise<void> {
    clearInterval(this.saveTimer);
    const finished = await Promise.race([
      this.source.stop().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(resolve, graceMs, false).unref()),
    ]);
    if (finished) this.save();
    else this.log.warn(`an entry was still in flight after ${graceMs} ms: keeping the checkpoint saved at ${this.savedCursor ?? '(none)'}`);
    await Promise.race([
      Promise.all([this.stopInstances(this.generation), this.bouncer?.stop()]),
      new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    // a firewall command or sendmail still hanging must not outlive peruse (it runs detached)
    const killed = killRunningCommands();
    if (killed > 0) this.log.warn(`stop: killed ${killed} command(s) still running; the bans stay in the store for the next start`);
    this.control?.close();
    this.metricsServer?.close();
    this.metricsServer?.closeAllConnections();
    this.log.notice(`stopped after ${this.entries} entries`);
  }
}

function describeStart(start: StartPosition): string {
  if ('after' in start) return `after cursor ${start.after}`;
  if ('since' in start) return `since ${start.since}`;
  if ('head' in start) return 'from its beginning';
  return 'from its tail';
}
