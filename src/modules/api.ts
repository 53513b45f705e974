// The ONLY engine file a filter or action (built-in or user module) imports.
// Everything a module may need is declared or re-exported here, so the engine's
// inner layout can change without touching modules.
import type { State } from '../state/state.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../system/log.js';
import type { CommandRunner } from '../system/exec.js';
import type { Mailer } from '../system/mailer-api.js';

export { ConfigError } from '../config/errors.js';
export { MAX_DURATION_SECONDS } from '../config/limits.js';
export type { ErrorCode, WarningCode } from '../config/errors.js';
import type { WarningCode } from '../config/errors.js';
export { compileTemplate, formatTimestamp } from '../text/template.js';
export type { Template } from '../text/template.js';
export { compilePattern } from '../text/regex.js';
export type { CompiledPattern } from '../text/regex.js';
export { parseIp, parseNetwork, cachedParseIp, networkContains } from '../net/ip.js';
export { compareCodePoints, compareSameType, pythonEqualityKey } from '../text/compare.js';
export { warnIfNumericFieldString } from '../journal/numeric-check.js';
export { defineBoundFilter } from './bound-filter.js';
export { userExists } from '../system/users.js';
export { lifetimeBits } from '../state/dnat.js';
export { counterKeyOf } from '../state/counters.js';
export { pythonTypeOfField } from '../journal/fields.js';
export { sessionKeyOf } from '../state/sessions.js';
export { sessionReferenceSchema, type SessionReferenceArgs } from './session-args.js';
// natfw is a pure library; action_natfwTrace is its log-chain face
export { DEFAULT_ARCHIVE_DIR } from '../natfw/defaults.js';
export type { ArchiveStore } from '../natfw/archive.js';
/** The natfw archive reader, loaded on first use: a config that only declares a trace step does not pay for it. */
export const loadArchiveStore = async (): Promise<typeof import('../natfw/archive.js').ArchiveStore> => (await import('../natfw/archive.js')).ArchiveStore;
export { PROTOCOLS, type Protocol } from '../natfw/legacy.js';
export { parseTraceTime } from '../natfw/time.js';
export { DEFAULT_STALE_MS, trace, type TraceStatus } from '../natfw/trace.js';
export { createBanStep } from '../net/ban-step.js';
export { banPublisher as crowdsecBanPublisher } from '../crowdsec/publish-step.js';
export { nftBackend, ipsetBackend } from '../net/ban-commands.js';
export { JournalWriter, MAX_GENERATIONS, SYSLOG_LEVELS } from '../system/journal-writer.js';
export type { SyslogLevel } from '../system/journal-writer.js';
export type { ParsedIp, ParsedNetwork } from '../net/ip.js';
export type { State, Settings, Logger, CommandRunner, Mailer };

/** A journal entry: field name → value. Numbers for numeric journal fields, µs for timestamps. */
export type Entry = Record<string, unknown>;

/** "Now" in microseconds since the epoch: the current entry's time in `replay` (as if live then), the wall clock in `run`.
 *  Time-based state uses the entry's own time (`eventTimeOf`); "now" only bounds what is left of a ban. */
export interface Clock {
  nowMicros(): number;
}

export interface ModuleContext {
  /** Config path of the step, e.g. `actions["SSH"][2]`. */
  readonly path: string;
  /** Short label of the step, e.g. `SSH[2]`. */
  readonly label: string;
  readonly settings: Settings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly state: State;
  readonly exec: CommandRunner;
  readonly mailer: Mailer;
  /** In `replay --dry-run`: side-effect actions report what they would do instead of doing it. */
  readonly dryRun: boolean;
  /** Dry-run: describes a side effect ("would …") where it would have been done; absent otherwise. */
  readonly effect?: (description: string) => void;
  /** A config-time warning (printed by `check`), optionally about a sub-path of args, e.g. `re`. */
  warn(message: string, argsSubPath?: string, code?: WarningCode): void;
}

export interface Lifecycle {
  /**
   * The entry fields this step reads. peruse then decodes only the journal fields some step reads
   * (plus the cursor, time and identity fields it needs itself). A step that does not say may
   * read any field: every field of every entry is then decoded, as without this.
   */
  readonly reads?: readonly string[];
  /** Daemon only (never in `check`): open resources, restore what must be restored. */
  start?(): void | Promise<void>;
  /** Daemon only: flush and release. */
  stop?(): void | Promise<void>;
}

export interface FilterInstance extends Lifecycle {
  test(entry: Entry): boolean;
}

export interface ActionInstance extends Lifecycle {
  /** Returning a Promise pauses the reader until it settles (back-pressure, order kept). */
  act(entry: Entry): void | Promise<void>;
}

export interface FilterModule<Args = Record<string, unknown>> {
  kind: 'filter';
  name: string;
  summary: string;
  /** JSON schema of args (ajv); `additionalProperties: false` and a description per property. */
  argsSchema?: object;
  create(args: Args, ctx: ModuleContext): FilterInstance;
}

export interface ActionModule<Args = Record<string, unknown>> {
  kind: 'action';
  name: string;
  summary: string;
  argsSchema?: object;
  create(args: Args, ctx: ModuleContext): ActionInstance;
}

export type AnyModule = FilterModule<any> | ActionModule<any>;

export function defineFilter<Args>(module: Omit<FilterModule<Args>, 'kind'>): FilterModule<Args> {
  return { kind: 'filter', ...module };
}

export function defineAction<Args>(module: Omit<ActionModule<Args>, 'kind'>): ActionModule<Args> {
  return { kind: 'action', ...module };
}

/** Reads a field the way Pyruse's templates and filters see it: undefined when absent. */
export function fieldOf(entry: Entry, name: string): unknown {
  return entry[name];
}

/** Event time of an entry (µs): its `__REALTIME_TIMESTAMP`, else the clock's time. */
export function eventTimeOf(entry: Entry, clock: Clock): number {
  const time = entry.__REALTIME_TIMESTAMP;
  return typeof time === 'number' ? time : clock.nowMicros();
}
