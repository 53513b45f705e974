import { askDaemon, controlSocketPath } from '../system/control-socket.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import type { DaemonStatus } from './daemon-control.js';

const HELP = `usage: peruse status [--json] [--socket PATH]

Asks the running daemon (its control socket: --socket, else $PERUSE_CONTROL_SOCKET, else
/run/peruse/control.sock; root only) how it is doing: up since, journal position and lag,
entries per second (last minute), active bans per set, bans and emails in the last hour, step
errors, the last report sent, the config file and when it was loaded.
  --json   the same as one JSON object, for scripts
Exit 0 when a daemon answered, 3 when none runs.`;

/** As LSB init scripts and systemctl status: "program is not running". */
export const EXIT_NOT_RUNNING = 3;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      socket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError('status takes no argument');
    const socketPath = controlSocketPath(values.socket);
    let reply: unknown;
    try {
      reply = await askDaemon(socketPath, { command: 'status' });
    } catch (error) {
      const denied = (error as NodeJS.ErrnoException).code === 'EACCES';
      process.stderr.write(`peruse: ${denied ? `${socketPath}: permission denied (the control socket is root only)` : (error as Error).message}\n`);
      return 1;
    }
    if (reply === undefined) {
      process.stderr.write(`peruse: no daemon is running (nothing listens on ${socketPath})\n`);
      return EXIT_NOT_RUNNING;
    }
    const status = reply as DaemonStatus & { error?: string };
    if (status.error) { process.stderr.write(`peruse: the daemon answered: ${status.error}\n`); return 1; }
    process.stdout.write(values.json ? JSON.stringify(status) + '\n' : formatStatus(status));
    return 0;
  });
}

export function formatStatus(s: DaemonStatus): string {
  const sets = Object.entries(s.bans.active).flatMap(([backend, bySet]) => Object.entries(bySet).map(([set, n]) => `${backend} ${set}: ${n}`));
  const errors = Object.entries(s.stepErrors).map(([step, n]) => `${step}: ${n}`);
  const rows: [string, string][] = [
    ['daemon', `running, pid ${s.pid}, up since ${s.upSince} (${formatSeconds(s.uptimeSeconds)})`],
    ['config', `${s.config.file}, loaded ${s.config.loadedAt}`],
    ['journal', s.journal.lastEntryTime === null ? 'no entry processed yet'
      : `last entry ${s.journal.lastEntryTime}, lag ${s.journal.lagSeconds} s, journalctl restarts ${s.journal.journalctlRestarts}`],
    ['cursor', s.journal.cursor ?? '(none yet)'],
    ['entries', `${s.entries.total} processed, ${s.entries.perSecond}/s over the last minute`],
    ['bans', `${sets.length ? sets.join('; ') : 'none active'}; ${s.bans.lastHour} in the last hour`],
    ['emails', `${s.emails.sent} sent, ${s.emails.failed} failed; ${s.emails.lastHour} in the last hour`],
    ['step errors', errors.length ? errors.join('; ') : 'none'],
    ['last report', s.lastReportSent ?? 'none sent yet'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

function formatSeconds(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  return `${d ? `${d}d ` : ''}${h}h${String(m).padStart(2, '0')}m`;
}
