import { loadConfigFile } from '../config/load.js';
import { Settings } from '../config/settings.js';
import { BACKENDS, backendCommand, remainingSeconds } from '../net/ban-commands.js';
import { openBanStore, restoreBans } from '../state/ban-restore.js';
import { canonicalBanTarget, type StoreDamage } from '../state/bans.js';
import { refuseIrregularStateFiles } from '../state/state-files.js';
import { recordingRunner, spawnRunner, type CommandRunner } from '../system/exec.js';
import { createLogger, type Logger } from '../system/log.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { configPath, EXIT_CONFIG } from './setup.js';

const HELP = `usage: peruse bans list [--json]
       peruse bans unban ADDRESS [--set SET]
       peruse bans restore [--dry-run]
       (each takes --config FILE)

  list     bans still holding: backend, set, address, remaining time, reason (the banning step)
  unban    removes ADDRESS (or an IPv6 prefix ADDRESS/LEN) from the firewall set AND the store,
           so it does not come back at boot; --set limits it to one set
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
    refuseIrregularStateFiles(settings.storage);
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
        for (const r of results) if (r.damaged) process.stderr.write(`peruse: ${damageNote(r.damaged)}\n`);
        if (results.length === 0) process.stdout.write('no ban to restore\n');
        return results.some((r) => r.failedSets.length > 0 || r.damaged) ? 1 : 0;
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
  const table = [['BACKEND', 'SET', 'ADDRESS', 'REMAINING', 'REASON'],
    ...rows.map((r) => [r.backend, r.set, r.ip, r.remainingSeconds === null ? 'permanent' : formatDuration(r.remainingSeconds), r.reason])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) process.stdout.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ') + '\n');
  return status;
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
  if (removed === 0) {
    process.stderr.write(`peruse: ${target} is not banned${set === undefined ? '' : ` in ${set}`} (not in the ban store)\n`);
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return `${d ? `${d}d` : ''}${d || h ? `${h}h` : ''}${d || h || m ? `${m}m` : ''}${s}s`;
}
