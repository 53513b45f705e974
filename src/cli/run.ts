import { killRunningCommands } from '../system/exec.js';
import { createLogger } from '../system/log.js';
import { parseCommandArgs, runCommand } from './args.js';
import { Daemon } from './daemon.js';
import { configPath, EXIT_CONFIG } from './setup.js';

const HELP = `usage: peruse run [--config FILE] [--debug]

The daemon: follows the journal (journalctl --follow) and pushes every entry through the workflow.
Resumes right after the last processed entry (cursor saved with the state in storage); with no
checkpoint yet, starts at the journal's tail, or at journal.since.
  SIGTERM, SIGINT  finish the current entry, save, exit 0 (within 5 s)
  SIGHUP           reload the config; a config with errors is rejected and the running one stays
Exit 78 when the config has errors (nothing is started). See docs/daemon.md.`;

/** What SIGTERM may take in total, under systemd's default 90 s and the promised 5 s. */
const SHUTDOWN_GRACE_MS = 3500;
const HARD_EXIT_MS = 4800;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const log = createLogger({ debug: values.debug === true });
    const daemon = new Daemon(configPath(values.config), log);
    // signals are taken from the start: one that arrives while journalctl is being started (a
    // `systemctl reload` right after start) must not kill the daemon by its default action
    let started = false, stopping = false, reloadAfterStart = false;
    let stoppedBeforeStart: NodeJS.Signals | undefined;
    let finish: (code: number) => void = () => {};
    const stopped = new Promise<number>((resolve) => { finish = resolve; });
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      if (!started) { stoppedBeforeStart = signal; return; }
      log.notice(`${signal}: stopping`);
      // whatever hangs (a firewall command, an SMTP server), the process is gone in 5 s
      setTimeout(() => { log.error('shutdown took too long: exiting now'); killRunningCommands(); process.exit(0); }, HARD_EXIT_MS).unref();
      daemon.shutdown(SHUTDOWN_GRACE_MS).then(
        () => { process.off('SIGHUP', hup); finish(0); },
        (error: Error) => { log.error(`shutdown: ${error.message}`); finish(1); },
      );
    };
    const hup = () => {
      if (!started) { reloadAfterStart = true; return; }
      if (!stopping) daemon.reload().catch((error: Error) => log.error(`reload failed: ${error.message}`));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', hup);
    if (!(await daemon.start())) {
      process.off('SIGTERM', stop).off('SIGINT', stop).off('SIGHUP', hup);
      return EXIT_CONFIG;
    }
    started = true;
    if (stoppedBeforeStart) { stopping = false; stop(stoppedBeforeStart); }
    else if (reloadAfterStart) hup();
    return stopped;
  });
}
