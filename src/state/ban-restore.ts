import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { BACKENDS, backendCommand, remainingSeconds, type BanBackend, type BanElement } from '../net/ban-commands.js';
import type { CommandRunner } from '../system/exec.js';
import type { Logger } from '../system/log.js';
import { BanStore, type BanRecord, type StoreDamage } from './bans.js';

export interface OpenStoreOptions {
  persist: boolean;
  nowMicros: () => number;
}

/** The ban store of `backend` in the config's storage (imports Pyruse's file on first use). */
export function openBanStore(backend: BanBackend, settings: Settings, log: Logger, options: OpenStoreOptions): BanStore {
  return new BanStore({
    file: path.join(settings.storage, backend.storeFile),
    pyruseFile: path.join(settings.storage, backend.pyruseFile),
    persist: options.persist,
    log,
    nowMicros: options.nowMicros,
    checkSet: (set) => backend.checkSet(set),
  });
}

export interface RestoreResult {
  backend: BanBackend['name'];
  /** Bans handed to the firewall. */
  applied: number;
  /** Sets whose bans the firewall refused (the whole transaction, then set by set). */
  failedSets: string[];
  seconds: number;
  /** The store file could not be read whole (kept aside, what parsed was applied). */
  damaged?: StoreDamage;
}

export interface RestoreOptions {
  /** Wall clock by default: a restore happens now, whatever the journal's time. */
  nowMicros?: () => number;
  /** Write the store (the first start converts Pyruse's file); false in dry-run. */
  persist?: boolean;
}

/**
 * Applies every ban still holding, with its remaining time, in ONE transaction per backend
 * (`nft -f -`, `ipset restore`). Used by `peruse bans restore` (boot) and by the daemon at start.
 * A backend without bans runs nothing. Never throws for a firewall failure: it is logged and
 * reported, and when the transaction fails each set is tried alone so one missing set does
 * not cost the others their bans.
 */
export async function restoreBans(settings: Settings, log: Logger, runner: CommandRunner, options: RestoreOptions = {}): Promise<RestoreResult[]> {
  const nowMicros = options.nowMicros ?? (() => Date.now() * 1000);
  const results: RestoreResult[] = [];
  for (const backend of BACKENDS) {
    const store = openBanStore(backend, settings, log, { persist: options.persist ?? true, nowMicros });
    const started = performance.now();
    const elements = toElements(store.holding(nowMicros()), nowMicros());
    store.flush();
    const damaged = store.damaged;
    if (elements.length === 0) {
      if (damaged) results.push({ backend: backend.name, applied: 0, failedSets: [], seconds: 0, damaged });
      continue;
    }
    const command = backendCommand(backend, settings.section(backend.section));
    const failedSets = await applyAll(backend, command, elements, runner, log);
    const applied = elements.filter((e) => !failedSets.includes(e.set)).length;
    const seconds = (performance.now() - started) / 1000;
    log.info(`bans: restored ${applied} ${backend.name} bans in ${seconds.toFixed(3)} s${failedSets.length ? `; refused for ${failedSets.join(', ')}` : ''}`);
    results.push({ backend: backend.name, applied, failedSets, seconds, damaged });
  }
  return results;
}

function toElements(bans: readonly BanRecord[], now: number): BanElement[] {
  const elements: BanElement[] = [];
  for (const ban of bans) {
    const seconds = remainingSeconds(ban.until, now);
    if (seconds === undefined || seconds > 0) elements.push({ set: ban.set, ip: ban.ip, seconds });
  }
  return elements;
}

async function applyAll(backend: BanBackend, command: readonly string[], elements: BanElement[], runner: CommandRunner, log: Logger): Promise<string[]> {
  if (await applyOnce(backend, command, elements, runner, log, 'all sets')) return [];
  const bySet = new Map<string, BanElement[]>();
  for (const e of elements) {
    const group = bySet.get(e.set);
    if (group) group.push(e);
    else bySet.set(e.set, [e]);
  }
  if (bySet.size === 1) return [...bySet.keys()];
  const failed: string[] = [];
  for (const [set, group] of bySet) if (!(await applyOnce(backend, command, group, runner, log, set))) failed.push(set);
  return failed;
}

async function applyOnce(backend: BanBackend, command: readonly string[], elements: BanElement[], runner: CommandRunner, log: Logger, what: string): Promise<boolean> {
  const { args, stdin } = backend.restore(elements);
  const result = await runner.run([...command, ...args], { stdin, timeoutMs: 120_000 });
  if (result.code === 0) return true;
  log.error(`bans: restoring ${elements.length} ${backend.name} bans (${what}) failed with ${result.code}: ${result.stderr.trim().slice(0, 2000) || '(no stderr)'}`);
  return false;
}
