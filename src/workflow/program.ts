import type { ActionInstance, FilterInstance } from '../modules/api.js';

export const END = -1;

/** The compiled workflow: flat arrays indexed by step number, integer links, END = -1. */
export interface Program {
  entry: number;
  size: number;
  isFilter: Uint8Array;
  filters: (FilterInstance | undefined)[];
  actions: (ActionInstance | undefined)[];
  /** Filter passed / action done. */
  next: Int32Array;
  /** Filter failed (or threw). END for actions. */
  alt: Int32Array;
  labels: string[];
  /** Per program step: entries that reached it, filters that passed, errors thrown. */
  hits: Float64Array;
  passes: Float64Array;
  errors: Float64Array;
  /** Every distinct module instance once (a duplicated sub-chain shares its instances). */
  instances: (FilterInstance | ActionInstance)[];
}

/** Fields the engine itself reads from every entry. */
export const ENGINE_FIELDS: readonly string[] = ['__CURSOR', '__REALTIME_TIMESTAMP', 'SYSLOG_IDENTIFIER', '_BOOT_ID', '_PID'];

/**
 * Every entry field some step of the program reads, or undefined when a step does not say which
 * (a user module): then every field must be decoded.
 */
export function fieldsRead(program: Program): ReadonlySet<string> | undefined {
  const fields = new Set(ENGINE_FIELDS);
  for (const instance of program.instances) {
    if (instance.reads === undefined) return undefined;
    for (const field of instance.reads) fields.add(field);
  }
  return fields;
}

/** Per-label totals (duplicated steps summed), in first-seen order. */
export function stepStats(program: Program): Record<string, { hits: number; passes?: number; errors: number }> {
  const out: Record<string, { hits: number; passes?: number; errors: number }> = {};
  for (let i = 0; i < program.size; i++) {
    const label = program.labels[i]!;
    const s = (out[label] ??= program.isFilter[i] ? { hits: 0, passes: 0, errors: 0 } : { hits: 0, errors: 0 });
    s.hits += program.hits[i]!;
    s.errors += program.errors[i]!;
    if (s.passes !== undefined) s.passes += program.passes[i]!;
  }
  return out;
}
