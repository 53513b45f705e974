// peruse command-line entry: one file per command, loaded on demand so `check` stays fast.
type Command = { main(argv: string[]): Promise<number> };
const load = (name: string) => () => import(`./${name}.js`) as Promise<Command>;
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: 'follow the journal and run the workflow (the daemon)', load: load('run') },
  check: { summary: 'validate a config; exit 0 or 78', load: load('check') },
  test: { summary: 'try a config on logs or annotated samples, with no side effect; check expectations', load: load('test') },
  replay: { summary: 'push recorded entries (JSON lines or journal files) through the workflow', load: load('replay') },
  schema: { summary: 'print the JSON Schema of the config, for editors', load: load('schema') },
  bans: { summary: 'list, ban, unban, restore firewall bans', load: load('bans') },
  report: { summary: 'preview or send the daily report', load: load('report') },
  status: { summary: 'ask the running daemon how it is doing (--json for scripts)', load: load('status') },
  install: { summary: 'install the systemd units, /etc/peruse/peruse.json and /var/lib/peruse (root)', load: load('install') },
  uninstall: { summary: 'remove what install made (state kept unless --purge)', load: load('uninstall') },
  import: { summary: 'import fail2ban\'s jails as a peruse config (peruse import fail2ban)', load: load('import-fail2ban') },
  natfw: { summary: 'traceable NAT: generate port blocks, trace a public port to a VPN client', load: load('natfw') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: peruse COMMAND [options]   (peruse COMMAND --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'The config is --config FILE, else $PERUSE_CONFIG, else /etc/peruse/peruse.json.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage() + '\n');
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`peruse: unknown command "${command}"\n\n${usage()}\n`);
    return 2;
  }
  return (await entry.load()).main(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`peruse: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
