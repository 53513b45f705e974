import { loadConfigFile } from '../config/load.js';
import { Settings } from '../config/settings.js';
import { BACKENDS, backendCommand, remainingSeconds } from '../net/ban-commands.js';
import { openBanStore, restoreBans } from '../state/ban-restore.js';
import { canonicalBanTarget } from '../state/bans.js';
import { LapiClient } from '../crowdsec/client.js';
import { lapiSettings } from '../crowdsec/settings.js';
import { recordingRunner, spawnRunner, type CommandRunner } from '../system/exec.js';
import { createLogger, type Logger } from '../system/log.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { configPath, EXIT_CONFIG } from './setup.js';

const HELP = `usage: peruse bans list [--json]
       peruse bans unban ADDRESS [--set SET]
       peruse bans restore [--dry-run]
       (each takes --config FILE)

  list     bans still holding: backend, set, address, remaining time, reason (the banning step
           or LAPI scenario), origin (local, or lapi:ORIGIN for a decision pulled from CrowdSec)
  unban    removes ADDRESS (or an IPv6 prefix ADDRESS/LEN) from the firewall set AND the store,
           so it does not come back at boot; --set limits it to one set. With crowdsec.machine
           credentials, also deletes the address's decisions in CrowdSec's LAPI (every host)
  restore  applies every stored ban with its remaining time, in one nft/ipset transaction
           (run at boot by a oneshot systemd unit, and by the daemon at start)`;

const nowMicros = () => Date.now() * 1000;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      set: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'n' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    const [sub, ...rest] = positionals;
    if (values.help || !sub) { process.stdout.write(HELP + '\n'); return values.help ? 0 : 2; }
    const settings = loadSettings(configPath(values.config));
    if (!settings) return EXIT_CONFIG;
    const log = createLogger();
    switch (sub) {
      case 'list':
        if (rest.length > 0) throw new UsageError('list takes no address');
        return list(settings, log, values.json === true);
      case 'unban': {
        if (rest.length !== 1) throw new UsageError('unban takes exactly one ADDRESS');
        return unban(settings, log, rest[0]!, values.set, spawnRunner);
      }
      case 'restore': {
        if (rest.length > 0) throw new UsageError('restore takes no argument');
        const dryRun = values['dry-run'] === true;
        const runner: CommandRunner = dryRun
          ? recordingRunner((a, stdin) => process.stdout.write(`would run: ${JSON.stringify(a)} with ${String(stdin ?? '').split('\n').length - 1} lines on stdin\n`))
          : spawnRunner;
        const results = await restoreBans(settings, log, runner, { persist: !dryRun });
        for (const r of results) {
          process.stdout.write(`${r.backend}: ${dryRun ? 'would restore' : 'restored'} ${r.applied} bans in ${r.seconds.toFixed(3)} s${r.failedSets.length ? `; refused for ${r.failedSets.join(', ')}` : ''}\n`);
        }
        if (results.length === 0) process.stdout.write('no ban to restore\n');
        return results.some((r) => r.failedSets.length > 0) ? 1 : 0;
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

function list(settings: Settings, log: Logger, json: boolean): number {
  const now = nowMicros();
  const rows = BACKENDS.flatMap((backend) =>
    openBanStore(backend, settings, log, { persist: false, nowMicros }).holding(now).map((ban) => ({
      backend: backend.name, set: ban.set, ip: ban.ip,
      until: ban.until / 1e6, remainingSeconds: remainingSeconds(ban.until, now) ?? null, reason: ban.reason,
      origin: ban.origin ?? 'local',
    })));
  rows.sort((a, b) => a.backend.localeCompare(b.backend) || a.set.localeCompare(b.set) || a.ip.localeCompare(b.ip));
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return 0;
  }
  const table = [['BACKEND', 'SET', 'ADDRESS', 'REMAINING', 'REASON', 'ORIGIN'],
    ...rows.map((r) => [r.backend, r.set, r.ip, r.remainingSeconds === null ? 'permanent' : formatDuration(r.remainingSeconds), r.reason, r.origin])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) process.stdout.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ') + '\n');
  return 0;
}

async function unban(settings: Settings, log: Logger, address: string, set: string | undefined, runner: CommandRunner): Promise<number> {
  const target = canonicalBanTarget(address);
  if (!target) throw new UsageError(`"${address}" is not an IP address (or IPv6 prefix ADDRESS/LEN)`);
  let removed = 0, failed = 0;
  for (const backend of BACKENDS) {
    const store = openBanStore(backend, settings, log, { persist: true, nowMicros });
    const matches = store.all().filter((b) => b.ip === target && (set === undefined || b.set === set));
    if (matches.length === 0) continue;
    const command = backendCommand(backend, settings.section(backend.section));
    for (const ban of matches) {
      const result = await runner.run([...command, ...backend.deleteArgs(ban.set, ban.ip)]);
      // an element that already timed out is not in the kernel set any more: still drop it from the store
      if (result.code !== 0 && ban.until !== 0 && ban.until <= nowMicros()) {
        log.debug(`bans: ${ban.ip} had already expired in ${ban.set}`);
      } else if (result.code !== 0) {
        failed++;
        log.error(`bans: removing ${ban.ip} from ${backend.name} set ${ban.set} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
      }
      store.remove(ban.set, ban.ip);
      removed++;
      process.stdout.write(`unbanned ${ban.ip} from ${backend.name} set ${ban.set}\n`);
    }
    store.flush();
  }
  const lapi = await unbanInLapi(settings, target);
  if (lapi.failed) failed++;
  removed += lapi.deleted;
  if (removed === 0) {
    process.stderr.write(`peruse: ${target} is not banned${set === undefined ? '' : ` in ${set}`} (not in the ban store)\n`);
    return 1;
  }
  return failed > 0 ? 1 : 0;
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
