// The install an admin follows (docs/install.md), for real: `npm pack` of this tree, `npm install -g`
// of the tarball into a prefix, then the installed `peruse install --root` writes units that
// systemd-analyze verifies, a config the installed peruse accepts, and the state directory.
//
// re2 is a native addon: without a prebuilt binary it compiles for minutes. Its documented mirror
// variable (RE2_DOWNLOAD_MIRROR) points it at the binary this tree already built, so npm installs
// everything else as it would on a server, in under a minute.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
let work: string;
let prefix: string;
let installed: string;

function run(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same without blocking: vitest's worker must keep answering while npm runs for a minute. */
function runAsync(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const installedPeruse = (...args: string[]) => run([path.join(prefix, 'bin', 'peruse'), ...args]);

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'peruse-install-'));
  prefix = path.join(work, 'prefix');
  // dist/ as `npm test` (or `npm run build`) made it: prepare would rebuild it in place while other
  // test files run peruse from it
  expect(existsSync(path.join(ROOT, 'dist/src/cli/install.js')), 'run npm run build first').toBe(true);
  const packed = await runAsync(['npm', 'pack', '--silent', '--ignore-scripts', '--pack-destination', work]);
  expect(packed.code, packed.err).toBe(0);
  const tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const mirror = path.join(work, 're2-mirror');
  mkdirSync(mirror);
  copyFileSync(path.join(ROOT, 'node_modules/re2/build/Release/re2.node'), path.join(mirror, `${process.platform}-${process.arch}-${process.versions.modules}`));
  const install = await runAsync(['npm', 'install', '-g', '--no-audit', '--no-fund', '--prefix', prefix, tarball], {
    ...process.env, RE2_DOWNLOAD_MIRROR: mirror, RE2_DOWNLOAD_SKIP_PATH: '1', RE2_DOWNLOAD_SKIP_VER: '1', npm_config_platform: process.platform,
  });
  expect(install.code, install.err).toBe(0);
  installed = realpathSync(path.join(prefix, 'lib', 'node_modules', 'peruse'));
}, 600_000);

afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

describe('npm pack, npm install -g, peruse install', () => {
  it('the package holds what a server needs and its peruse runs from the prefix', () => {
    for (const file of ['bin/peruse.js', 'dist/src/cli/main.js', 'dist/src/cli/install.js', 'dist/actions/action_nftBan.js', 'examples/peruse.json', 'examples/systemd/peruse.service', 'docs/install.md', 'rules/sshd.json', 'rules/sshd.samples.jsonl']) {
      expect(existsSync(path.join(installed, file)), file).toBe(true);
    }
    expect(existsSync(path.join(installed, 'test'))).toBe(false);
    const help = installedPeruse('--help');
    expect(help.out).toMatch(/^ {2}install +install the systemd units/m);
  });

  it('peruse install --root writes the units with the real node and peruse, the sshd config and the state directory, and prints the next steps', () => {
    const root = path.join(work, 'root');
    const r = installedPeruse('install', '--root', root, '--rules', 'sshd');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Next steps:[\s\S]*peruse check --config \/etc\/peruse\/peruse\.json[\s\S]*systemctl enable --now peruse-restore\.service peruse\.service[\s\S]*peruse status/);
    const node = realpathSync(process.execPath);
    const service = readFileSync(path.join(root, 'etc/systemd/system/peruse.service'), 'utf8');
    expect(service).toMatch(new RegExp(`^ExecStart=${node} ${path.join(installed, 'bin/peruse.js')} run --config /etc/peruse/peruse.json$`, 'm'));
    expect(service).toMatch(/^RuntimeDirectory=peruse$/m);
    expect(readFileSync(path.join(root, 'etc/systemd/system/peruse-restore.service'), 'utf8'))
      .toMatch(new RegExp(`^ExecStart=${node} ${path.join(installed, 'bin/peruse.js')} bans restore --config /etc/peruse/peruse.json$`, 'm'));
    // the package holds the rules library: the config includes its sshd rule, default parameters
    const written = JSON.parse(readFileSync(path.join(root, 'etc/peruse/peruse.json'), 'utf8')) as { actions: unknown; storage: unknown };
    expect(written.actions).toEqual({ sshd: { include: path.join(installed, 'rules/sshd.json') } });
    expect(written.storage).toBe('/var/lib/peruse');
    expect(statSync(path.join(root, 'etc/peruse/peruse.json')).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(root, 'var/lib/peruse')).mode & 0o777).toBe(0o750);
    // the installed peruse accepts the config it wrote
    const checked = installedPeruse('check', '--config', path.join(root, 'etc/peruse/peruse.json'));
    expect(checked.code, checked.err).toBe(0);
  });

  it('the written units pass systemd-analyze verify', () => {
    const root = path.join(work, 'root');
    const units = ['peruse.service', 'peruse-restore.service'].map((u) => path.join(root, 'etc/systemd/system', u));
    const verify = run(['systemd-analyze', 'verify', ...units]);
    expect(verify.code, verify.err).toBe(0);
    expect(verify.err.split('\n').filter((l) => l.includes('peruse'))).toEqual([]);
  });

  it('installing again keeps the admin\'s config and leaves unchanged units alone; an unknown rule is refused', () => {
    const root = path.join(work, 'root');
    const config = path.join(root, 'etc/peruse/peruse.json');
    writeFileSync(config, '{ "actions": {} }\n');
    const again = installedPeruse('install', '--root', root, '--rules', 'sshd');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/config .*exists: kept as it is/);
    expect(again.out).toMatch(/units .*\(unchanged\)/);
    expect(readFileSync(config, 'utf8')).toBe('{ "actions": {} }\n');
    const unknown = installedPeruse('install', '--root', path.join(work, 'other'), '--rules', 'sshd,nosuchrule');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no rule "nosuchrule"/);
    expect(existsSync(path.join(work, 'other/etc/systemd/system/peruse.service'))).toBe(false);
  });

  it('uninstall removes the units and the cache, and keeps config and state; --purge removes them too', () => {
    const root = path.join(work, 'root');
    mkdirSync(path.join(root, 'var/cache/peruse'), { recursive: true });
    writeFileSync(path.join(root, 'var/cache/peruse/regex-verdicts.json'), '{}');
    const r = installedPeruse('uninstall', '--root', root);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(path.join(root, 'etc/systemd/system/peruse.service'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/systemd/system/peruse-restore.service'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/peruse/peruse.json'))).toBe(true);
    expect(existsSync(path.join(root, 'var/lib/peruse'))).toBe(true);
    expect(r.out).toMatch(/kept .*var\/lib\/peruse \(--purge removes it\)/);
    expect(existsSync(path.join(root, 'var/cache/peruse'))).toBe(false);
    const purge = installedPeruse('uninstall', '--root', root, '--purge');
    expect(purge.code, purge.err).toBe(0);
    expect(existsSync(path.join(root, 'etc/peruse'))).toBe(false);
    expect(existsSync(path.join(root, 'var/lib/peruse'))).toBe(false);
  });

  it('a unit file the admin wrote is never overwritten nor removed', () => {
    const root = path.join(work, 'mine');
    mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    const own = path.join(root, 'etc/systemd/system/peruse.service');
    writeFileSync(own, '[Service]\nExecStart=/opt/peruse run\n');
    const r = installedPeruse('install', '--root', root);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/peruse\.service exists and was not written by peruse install: left as it is/);
    expect(readFileSync(own, 'utf8')).toBe('[Service]\nExecStart=/opt/peruse run\n');
    installedPeruse('uninstall', '--root', root);
    expect(readFileSync(own, 'utf8')).toBe('[Service]\nExecStart=/opt/peruse run\n');
  });
});
