import { CounterStore } from './counters.js';
import { DnatTable } from './dnat.js';
import { ReportJournal } from './report.js';
import { SessionStore } from './sessions.js';

/**
 * Daemon-owned state, handed to modules through `ctx.state`. Each part is created once, on first
 * use, and shared by every step that asks for it (all counterRaise steps share the counters).
 * A part that implements `Persistent` is saved with the journal cursor and restored at start.
 */
export interface Persistent {
  /** A JSON-serialisable snapshot. */
  snapshot(): unknown;
  /** Restores a snapshot, dropping what expired before `nowMicros` (event time). */
  restore(data: unknown, nowMicros: number): void;
}

/**
 * A part whose records must be on disk before a checkpoint may pass the entries that made them
 * (the ban store: a checkpoint past a ban that is only in memory would lose it at a kill -9).
 */
export interface Durable {
  /** Writes what is only in memory; throws when it could not. */
  makeDurable(): void;
}

export interface StateOptions {
  /** Directory where state files live (the config's `storage`). */
  storage: string;
  /** False in `check` and `replay --dry-run`: nothing is written to disk. */
  persist: boolean;
}

export class State {
  private readonly parts = new Map<string, unknown>();

  constructor(readonly options: StateOptions) {}

  /** Counters of counterRaise/counterReset, shared by every step. */
  get counters(): CounterStore {
    return this.part('counters', () => new CounterStore());
  }

  /** The DNAT table of dnatCapture/dnatReplace. */
  get dnat(): DnatTable {
    return this.part('dnat', () => new DnatTable());
  }

  /** Session memories of sessionRemember/sessionRecall/sessionForget. */
  get sessions(): SessionStore {
    return this.part('sessions', () => new SessionStore());
  }

  /** The daily report's journal in `storage` (kept in memory only when nothing may be written). */
  get report(): ReportJournal {
    return this.part('report', () => new ReportJournal(this.options.storage, this.options.persist));
  }

  /** The shared part called `name`, created by `create` the first time. */
  part<T>(name: string, create: () => T): T {
    let value = this.parts.get(name) as T | undefined;
    if (value === undefined) {
      value = create();
      this.parts.set(name, value);
    }
    return value;
  }

  has(name: string): boolean {
    return this.parts.has(name);
  }

  /** Snapshots of every persistent part, by name. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of this.parts) {
      if (isPersistent(value)) out[name] = value.snapshot();
    }
    return out;
  }

  /** Writes every durable part; throws when one could not be written (then no checkpoint may be saved). */
  makeDurable(): void {
    for (const value of this.parts.values()) if (isDurable(value)) value.makeDurable();
  }

  /** Restores the parts that exist now (created by the config's steps); unknown names are ignored. */
  restore(snapshot: Record<string, unknown>, nowMicros: number): void {
    for (const [name, data] of Object.entries(snapshot)) {
      const value = this.parts.get(name);
      if (isPersistent(value)) value.restore(data, nowMicros);
    }
  }
}

function isPersistent(value: unknown): value is Persistent {
  return typeof value === 'object' && value !== null
    && typeof (value as Persistent).snapshot === 'function' && typeof (value as Persistent).restore === 'function';
}

function isDurable(value: unknown): value is Durable {
  return typeof value === 'object' && value !== null && typeof (value as Durable).makeDurable === 'function';
}
