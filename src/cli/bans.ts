import { loadConfigFile } from '../config/load.js';
import { Settings } from '../config/settings.js';
import { BACKENDS, remainingSeconds } from '../net/ban-commands.js';
import { setsOfBans, setupFirewall } from '../net/firewall-setup.js';
import type { BanStore } from '../state/bans.js';
import { openBanStore, restoreBans } from '../state/ban-restore.js';
import { canonicalBanTarget, type StoreDamage } from '../state/bans.js';
import { refuseIrregularStateFiles } from '../state/state-files.js';
import path from 'node:path';
import { banAddress, parseDuration, unbanAddress, type AdminOutcome, type StoreFor } from '../state/ban-admin.js';
import { askDaemon, controlSocketPath, type ControlRequest } from '../system/control-socket.js';
import { LapiClient } from '../crowdsec/client.js';
import { lapiSettings } from '../crowdsec/settings.js';
import { recordingRunner, spawnRunner, type CommandRunner } from '../system/exec.js';
import { createLogger, type Logger } from '../system/log.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { configPath, EXIT_CONFIG } from './setup.js';

const HELP = `usage: peruse bans list [--json]
       peruse bans ban ADDRESS [--set SET] [--for DURATION]
       peruse bans unban ADDRESS [--set SET]
       peruse bans restore [--dry-run]
       (each takes --config FILE; ban and unban take --socket PATH)

  list     bans still holding: backend, set, address, remaining time, reason (the banning step
           or LAPI scenario), origin (local, or lapi:ORIGIN for a decision pulled from CrowdSec)
  ban      bans ADDRESS (or an IPv6 prefix ADDRESS/LEN) in SET (default: the only set the
           config's ban steps name for its family) for DURATION (10m, 1h30m, 2d, 3600,
           permanent; default: the longest banSeconds of the steps naming SET)
  unban    removes ADDRESS from the firewall set AND the store, so it does not come back at
           boot; --set limits it to one set. With crowdsec.machine credentials, also deletes
           the address's decisions in CrowdSec's LAPI (every host)
  restore  makes the sets and drop rules (unless firewall.manage is false), then applies every
           stored ban with its remaining time, in one nft/ipset transaction (run at boot by a
           oneshot systemd unit, and by the daemon at start)
ban and unban go through the running daemon (its control socket, --socket, default
/run/peruse/control.sock) when it runs this config, so its store and the command never race;
without a daemon they act directly.`;

const nowMicros = () => Date.now() * 1000;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      set: { type: 'string' },
      for: { type: 'string' },
      socket: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'n' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    const [sub, ...rest] = positionals;
    if (values.help || !sub) { process.stdout.write(HELP + '\n'); return values.help ? 0 : 2; }
    const settings = loadSettings(configPath(values.config));
    if (!settings) return EXIT_CONFIG;
    const log = createLogger();
    refuseIrregularStateFiles(settings.storage);
    switch (sub) {
      case 'list':
        if (rest.length > 0) throw new UsageError('list takes no address');
        return list(settings, log, values.json === true);
      case 'ban': {
        if (rest.length !== 1) throw new UsageError('ban takes exactly one ADDRESS');
        const seconds = values.for === undefined ? undefined : parseDuration(values.for);
        if (seconds === undefined && values.for !== undefined) throw new UsageError(`--for "${values.for}" is not a duration (10m, 1h30m, 2d, 3600, permanent)`);
        const request = { command: 'ban', address: rest[0]!, set: values.set, seconds, config: path.resolve(settings.configFile) };
        return report(await viaDaemon(values.socket, request) ?? await banAddress(settings, { address: rest[0]!, set: values.set, seconds },
          directStores(settings, log), spawnRunner, nowMicros(), { prepare: async (named) => { await setupFirewall(settings, log, spawnRunner, [named]); } }));
      }
      case 'unban': {
        if (rest.length !== 1) throw new UsageError('unban takes exactly one ADDRESS');
        const request = { command: 'unban', address: rest[0]!, set: values.set, config: path.resolve(settings.configFile) };
        const outcome = await viaDaemon(values.socket, request) ?? await unbanAddress(settings, rest[0]!, values.set, directStores(settings, log), spawnRunner, log, nowMicros());
        const target = canonicalBanTarget(rest[0]!);
        if (target) {
          const lapi = await unbanInLapi(settings, target);
          // not in the local store but decisions deleted in LAPI: the unban did something
          if (lapi.deleted > 0 && outcome.out.length === 0) { outcome.err = outcome.err.filter((line) => !line.includes('is not banned')); if (outcome.err.length === 0) outcome.code = 0; }
          if (lapi.failed) outcome.code = 1;
        }
        return report(outcome);
      }
      case 'restore': {
        if (rest.length > 0) throw new UsageError('restore takes no argument');
        const dryRun = values['dry-run'] === true;
        const runner: CommandRunner = dryRun
          ? recordingRunner((a, stdin) => process.stdout.write(`would run: ${JSON.stringify(a)} with ${String(stdin ?? '').split('\n').length - 1} lines on stdin\n`))
          : spawnRunner;
        // the sets of the stored bans too: what the restore writes into, whatever the config names now
        const stored = BACKENDS.flatMap((backend) => setsOfBans(openBanStore(backend, settings, log, { persist: false, nowMicros }).holding(nowMicros()), backend.name));
        const setup = await setupFirewall(settings, log, runner, stored);
        const results = await restoreBans(settings, log, runner, { persist: !dryRun });
        for (const r of results) {
          process.stdout.write(`${r.backend}: ${dryRun ? 'would restore' : 'restored'} ${r.applied} bans in ${r.seconds.toFixed(3)} s${r.failedSets.length ? `; refused for ${r.failedSets.join(', ')}` : ''}\n`);
        }
        for (const r of results) if (r.damaged) process.stderr.write(`peruse: ${damageNote(r.damaged)}\n`);
        if (results.length === 0) process.stdout.write('no ban to restore\n');
        return results.some((r) => r.failedSets.length > 0 || r.damaged) || setup.problems.length > 0 ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown bans command "${sub}"`);
    }
  });
}

/** Only the settings matter here: a config whose chains have problems still has a storage and commands. */
function loadSettings(file: string): Settings | undefined {
  const { config, issues } = loadConfigFile(file);
  if (!config) {
    for (const issue of issues) process.stderr.write(`${file}:${issue.line ?? 1}:${issue.column ?? 1}  ${issue.code}  ${issue.message}\n`);
    return undefined;
  }
  return new Settings(config.raw, file);
}

/** What an admin must know of a store that could not be read whole. */
function damageNote(damage: StoreDamage): string {
  return `${damage.file} was damaged (${damage.reason}): ${damage.keptAs ? `the original is kept as ${damage.keptAs}, ` : ''}${damage.recovered} bans recovered from it`;
}

function list(settings: Settings, log: Logger, json: boolean): number {
  const now = nowMicros();
  const damages: StoreDamage[] = [];
  const rows = BACKENDS.flatMap((backend) => {
    const store = openBanStore(backend, settings, log, { persist: false, nowMicros });
    const holding = store.holding(now);
    if (store.damaged) damages.push(store.damaged);
    return holding.map((ban) => ({
      backend: backend.name, set: ban.set, ip: ban.ip,
      until: ban.until / 1e6, remainingSeconds: remainingSeconds(ban.until, now) ?? null, reason: ban.reason,
      origin: ban.origin ?? 'local',
    }));
  });
  rows.sort((a, b) => a.backend.localeCompare(b.backend) || a.set.localeCompare(b.set) || a.ip.localeCompare(b.ip));
  // a damaged store is listed as far as it could be read, and the exit status says it
  for (const damage of damages) process.stderr.write(`peruse: ${damageNote(damage)}\n`);
  const status = damages.length > 0 ? 1 : 0;
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return status;
  }
  const table = [['BACKEND', 'SET', 'ADDRESS', 'REMAINING', 'REASON', 'ORIGIN'],
    ...rows.map((r) => [r.backend, r.set, r.ip, r.remainingSeconds === null ? 'permanent' : formatDuration(r.remainingSeconds), r.reason, r.origin])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) process.stdout.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ') + '\n');
  return status;
}

/** The daemon's outcome, or undefined when no daemon runs this config (then the command acts itself). */
async function viaDaemon(socket: string | undefined, request: ControlRequest): Promise<AdminOutcome | undefined> {
  const socketPath = controlSocketPath(socket);
  const reply = await askDaemon(socketPath, request) as (AdminOutcome & { error?: string; configFile?: string }) | undefined;
  if (reply === undefined) return undefined;
  if (reply.error === 'other-config') {
    process.stderr.write(`peruse: the daemon on ${socketPath} runs ${reply.configFile}, not this config: acting directly\n`);
    return undefined;
  }
  if (reply.error !== undefined) throw new Error(`the daemon refused: ${reply.error}`);
  return reply;
}

/** No daemon: the stores are opened here, one per backend. */
function directStores(settings: Settings, log: Logger): StoreFor {
  const stores = new Map<string, BanStore>();
  return (backend) => {
    let store = stores.get(backend.name);
    if (!store) stores.set(backend.name, (store = openBanStore(backend, settings, log, { persist: true, nowMicros })));
    return store;
  };
}

function report(outcome: AdminOutcome): number {
  for (const line of outcome.out) process.stdout.write(line + '\n');
  for (const line of outcome.err) process.stderr.write(`peruse: ${line}\n`);
  return outcome.code;
}

/** Deletes the address's decisions in LAPI when peruse holds machine credentials (every host then drops them). */
async function unbanInLapi(settings: Settings, target: string): Promise<{ deleted: number; failed: boolean }> {
  let lapi;
  try {
    lapi = lapiSettings(settings);
  } catch (e) {
    process.stderr.write(`peruse: ${(e as Error).message}\n`);
    return { deleted: 0, failed: true };
  }
  if (!lapi?.machine) return { deleted: 0, failed: false };
  const client = new LapiClient(lapi);
  try {
    const deleted = await client.deleteDecisions(target.includes('/') ? 'range' : 'ip', target);
    process.stdout.write(`deleted ${deleted} decision(s) of ${target} in CrowdSec's LAPI\n`);
    return { deleted, failed: false };
  } catch (e) {
    process.stderr.write(`peruse: ${(e as Error).message} (the decisions of ${target} stay in LAPI)\n`);
    return { deleted: 0, failed: true };
  } finally {
    await client.destroy();
  }
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return `${d ? `${d}d` : ''}${d || h ? `${h}h` : ''}${d || h || m ? `${m}m` : ''}${s}s`;
}
