import { existsSync, writeFileSync } from 'node:fs';
import { importFail2ban, reportText } from '../fail2ban/import.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';

const HELP = `usage: peruse import fail2ban [--dir /etc/fail2ban] [--jail NAME …] [--out FILE] [--force]

Reads fail2ban's configuration as fail2ban does (jail.conf, jail.d/*.conf, jail.local,
jail.d/*.local; each jail's filter.d/NAME.conf + .local) and writes a peruse config that
catches what the enabled jails (or the --jail ones) catch. A report on stderr tells per jail:
converted, converted with warnings, or not converted, and why.

  --dir DIR      fail2ban's configuration directory (default /etc/fail2ban)
  --jail NAME    import this jail, enabled or not (repeatable); default: the enabled jails
  --out FILE     write the config there (default: stdout); an existing file needs --force
  --force        write over --out

Exit: 0, 1 when no jail could be converted, 2 usage.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      dir: { type: 'string' },
      jail: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    if (positionals[0] !== 'fail2ban' || positionals.length > 1) throw new UsageError('peruse import knows one source: fail2ban');
    const dir = values.dir ?? '/etc/fail2ban';
    if (values.out !== undefined && existsSync(values.out) && values.force !== true) {
      process.stderr.write(`peruse: ${values.out} exists; give --force to write over it\n`);
      return 1;
    }
    let result;
    try {
      result = importFail2ban(dir, values.jail);
    } catch (e) {
      process.stderr.write(`peruse: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(reportText(result.reports) + '\n');
    const text = JSON.stringify(result.config, null, 2) + '\n';
    if (values.out === undefined) process.stdout.write(text);
    else writeFileSync(values.out, text);
    return result.reports.some((r) => r.status !== 'not converted') ? 0 : 1;
  });
}
