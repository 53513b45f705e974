import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseCommandArgs, runCommand, UsageError } from './args.js';

const HELP = `usage: peruse install [--rules NAME,…] [--root DIR]
       peruse uninstall [--purge] [--root DIR]

install (as root) sets up a server for the peruse of this package (npm install -g):
  - /etc/systemd/system/peruse.service and peruse-restore.service, running this package's
    peruse with this node (their real paths), rewritten at each install (after an upgrade);
  - /etc/peruse/peruse.json made of the rules named by --rules (rules/NAME.json of the package,
    default sshd), never over an existing file;
  - /var/lib/peruse, the state directory;
then prints the next steps. Nothing is started.
uninstall stops and disables the units and removes them; /etc/peruse and /var/lib/peruse are
kept unless --purge.
  --root DIR  write under DIR instead of / (tests, packagers); systemctl is not run`;

/** Units are peruse's own: install rewrites them, uninstall removes them only when they carry this mark. */
const MARK = '# Written by `peruse install`';
const UNITS = ['peruse.service', 'peruse-restore.service'] as const;
const CONFIG = '/etc/peruse/peruse.json';
const STATE = '/var/lib/peruse';

/** The package this file belongs to (dist/src/cli/install.js → the package root). */
export function packageRoot(): string {
  return path.resolve(path.dirname(realpathSync(fileURLToPath(import.meta.url))), '../../..');
}

interface Layout { root: string; unitDir: string; configDir: string; config: string; state: string; cache: string }

function layout(root: string): Layout {
  const under = (p: string) => path.join(root, p);
  return { root, unitDir: under('/etc/systemd/system'), configDir: under('/etc/peruse'), config: under(CONFIG), state: under(STATE), cache: under('/var/cache/peruse') };
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      rules: { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError('install takes no argument');
    if (values.root === undefined && process.getuid?.() !== 0) {
      process.stderr.write('peruse: install writes to /etc and /var/lib: run it as root (or give --root DIR)\n');
      return 1;
    }
    const rules = (values.rules ?? 'sshd').split(',').map((r) => r.trim()).filter(Boolean);
    const where = layout(path.resolve(values.root ?? '/'));
    const pkg = packageRoot();
    const config = existsSync(where.config) ? undefined : composeConfig(pkg, rules);
    if (typeof config === 'string') { process.stderr.write(`peruse: ${config}\n`); return 1; }

    const node = realpathSync(process.execPath);
    const peruse = realpathSync(path.join(pkg, 'bin', 'peruse.js'));
    mkdirSync(where.unitDir, { recursive: true });
    const written: string[] = [];
    for (const unit of UNITS) {
      const file = path.join(where.unitDir, unit);
      const text = renderUnit(readFileSync(path.join(pkg, 'examples', 'systemd', unit), 'utf8'), { node, peruse, docs: path.join(pkg, 'docs') });
      const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (before !== undefined && !before.startsWith(MARK)) {
        process.stderr.write(`peruse: ${file} exists and was not written by peruse install: left as it is\n`);
        continue;
      }
      if (before !== text) { writeFileSync(file, text, { mode: 0o644 }); written.push(file); }
    }
    mkdirSync(where.configDir, { recursive: true, mode: 0o750 });
    if (config) writeFileSync(where.config, JSON.stringify(config.json, null, 2) + '\n', { mode: 0o640, flag: 'wx' });
    mkdirSync(where.state, { recursive: true, mode: 0o750 });
    chmodSync(where.state, 0o750);

    const out = [
      `peruse ${peruse}`,
      `node   ${node}`,
      `units  ${UNITS.map((u) => path.join(where.unitDir, u)).join(', ')} (${written.length ? 'written' : 'unchanged'})`,
      `config ${where.config} (${config ? `made from ${config.from}` : 'exists: kept as it is'})`,
      `state  ${where.state}`,
      '',
      'Next steps:',
      `  1. edit ${CONFIG} (email.to, the rules' parameters), then check it:`,
      `       peruse check --config ${CONFIG}`,
      '  2. start peruse now and at every boot:',
      '       systemctl daemon-reload',
      '       systemctl enable --now peruse-restore.service peruse.service',
      '  3. see it run:',
      '       peruse status',
      '       journalctl -u peruse -f',
      `  peruse makes the nft table/ipsets its bans need (firewall.manage, docs/install.md); after editing the config: systemctl reload peruse`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  });
}

/** The shipped unit with this installation's paths: node and peruse by their real paths, so no PATH or symlink is involved. */
export function renderUnit(template: string, paths: { node: string; peruse: string; docs: string }): string {
  let text = template
    .replace(/^ExecStart=\/usr\/bin\/peruse /m, `ExecStart=${paths.node} ${paths.peruse} `)
    .replace(/^Documentation=file:\/\/\/usr\/share\/doc\/peruse\//m, `Documentation=file://${paths.docs}/`);
  // a package installed under /root or /home (npm's prefix there) must stay readable
  if ([paths.node, paths.peruse].some((p) => /^\/(root|home|run\/user)(\/|$)/.test(p))) {
    text = text.replace(/^ProtectHome=true$/m, 'ProtectHome=read-only');
  }
  return `${MARK} for the package in ${path.dirname(paths.docs)}: rewritten at each install, removed by peruse uninstall.\n${text}`;
}

/**
 * The first config: one chain including each rule (rules/NAME.json of the package, with its
 * default parameters). Without the rules library, the bundled example stands for sshd.
 */
export function composeConfig(pkg: string, rules: string[]): { json: Record<string, unknown>; from: string } | string {
  const rulesDir = path.join(pkg, 'rules');
  const available = existsSync(rulesDir)
    ? readdirSync(rulesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort()
    : [];
  const unique = [...new Set(rules)];
  if (unique.length === 0) return '--rules names no rule';
  const bundledOnly = (r: string) => available.length === 0 && r === 'sshd';
  const missing = unique.filter((r) => !available.includes(r) && !bundledOnly(r));
  if (available.length === 0 && unique.length === 1 && unique[0] === 'sshd') {
    // the bundled example: the sshd rule, DNAT-aware, with its own email and storage settings
    const example = path.join(pkg, 'examples', 'peruse.json');
    return { json: JSON.parse(readFileSync(example, 'utf8')) as Record<string, unknown>, from: `${example} (sshd)` };
  }
  if (missing.length > 0) {
    return `no rule ${missing.map((m) => `"${m}"`).join(', ')} in ${rulesDir} (${available.length ? `available: ${available.join(', ')}` : 'no rules/ directory in this package; sshd is the bundled example'})`;
  }
  const actions: Record<string, unknown> = {};
  for (const rule of unique) actions[rule] = { include: path.join(rulesDir, `${rule}.json`) };
  return {
    json: {
      actions,
      email: { from: 'peruse@localhost', to: ['root@localhost'], subject: 'peruse report', sendmail: ['/usr/sbin/sendmail', '-t'] },
      storage: STATE,
    },
    from: `rules ${unique.join(', ')}`,
  };
}

export async function uninstall(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      purge: { type: 'boolean' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    if (positionals.length > 0) throw new UsageError('uninstall takes no argument');
    if (values.root === undefined && process.getuid?.() !== 0) {
      process.stderr.write('peruse: uninstall changes /etc: run it as root (or give --root DIR)\n');
      return 1;
    }
    const where = layout(path.resolve(values.root ?? '/'));
    const ours = UNITS.filter((u) => {
      const file = path.join(where.unitDir, u);
      return existsSync(file) && readFileSync(file, 'utf8').startsWith(MARK);
    });
    if (values.root === undefined && ours.length > 0) {
      const stop = spawnSync('systemctl', ['disable', '--now', ...ours], { stdio: 'inherit' });
      if (stop.status !== 0) process.stderr.write('peruse: systemctl disable --now failed (above); removing the units anyway\n');
    }
    for (const unit of ours) {
      rmSync(path.join(where.unitDir, unit));
      process.stdout.write(`removed ${path.join(where.unitDir, unit)}\n`);
    }
    for (const unit of UNITS.filter((u) => !ours.includes(u) && existsSync(path.join(where.unitDir, u)))) {
      process.stderr.write(`peruse: ${path.join(where.unitDir, unit)} was not written by peruse install: left as it is\n`);
    }
    if (values.root === undefined && ours.length > 0) spawnSync('systemctl', ['daemon-reload'], { stdio: 'inherit' });
    // only what can be made again (the regex verdicts of systemd's CacheDirectory=): never kept
    if (existsSync(where.cache)) {
      rmSync(where.cache, { recursive: true, force: true });
      process.stdout.write(`removed ${where.cache}\n`);
    }
    for (const dir of [where.configDir, where.state]) {
      if (!existsSync(dir)) continue;
      if (values.purge) {
        rmSync(dir, { recursive: true, force: true });
        process.stdout.write(`removed ${dir}\n`);
      } else process.stdout.write(`kept ${dir} (--purge removes it)\n`);
    }
    return 0;
  });
}
