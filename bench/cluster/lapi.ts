// A real CrowdSec Local API from Debian's `crowdsec` package, private to one test file: its own
// config dir, sqlite database and port (on loopback, or inside a network namespace), no agent
// (-no-cs), no Central API. Nothing of the system's own crowdsec service is read or touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Lapi {
  readonly url: string;
  readonly dir: string;
  /** Runs cscli against this LAPI's config; throws with its output on failure. */
  cscli(args: string[]): string;
  addMachine(name: string, password: string): void;
  /** A new bouncer's API key. */
  addBouncer(name: string): string;
  /** Every decision LAPI holds for `ip` (through a bouncer key of its own). */
  decisions(ip: string): Promise<{ id: number; origin: string; scenario: string; value: string; duration: string; scope: string }[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * `listen` is host:port; `prefix` runs crowdsec inside a network namespace (["ip","netns","exec",NAME]);
 * `tls` serves https with this certificate and key (PEM files).
 */
export function createLapi(listen: string, prefix: readonly string[] = [], tls?: { cert: string; key: string }): Lapi {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-lapi-'));
  mkdirSync(path.join(dir, 'data'));
  mkdirSync(path.join(dir, 'log'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(path.join(dir, 'profiles.yaml'), readFileSync('/etc/crowdsec/profiles.yaml'));
  const url = `${tls ? 'https' : 'http'}://${listen}`;
  writeFileSync(path.join(dir, 'credentials.yaml'), `url: ${url}\n`);
  writeFileSync(config, `common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: ${dir}/log
  working_dir: ${dir}
config_paths:
  config_dir: ${dir}/
  data_dir: ${dir}/data/
  simulation_path: /etc/crowdsec/simulation.yaml
  hub_dir: /var/lib/crowdsec/hub/
  index_path: /var/lib/crowdsec/hub/.index.json
  notification_dir: ${dir}/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
db_config:
  log_level: info
  type: sqlite
  db_path: ${dir}/data/crowdsec.db
  use_wal: true
  flush:
    max_items: 100000
api:
  client:
    credentials_path: ${dir}/credentials.yaml
    insecure_skip_verify: true
  server:${tls ? `
    tls:
      cert_file: ${tls.cert}
      key_file: ${tls.key}` : ''}
    log_level: info
    listen_uri: ${listen}
    profiles_path: ${dir}/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
`);
  let child: ChildProcess | undefined;
  let ownKey: string | undefined;

  const cscli = (args: string[]) => {
    const result = spawnSync(prefix[0] ?? 'cscli', [...prefix.slice(1), ...(prefix.length ? ['cscli'] : []), '-c', config, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cscli ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  // cscli's own machine (decisions add/delete go through LAPI with these credentials)
  cscli(['machines', 'add', 'test-cscli', '--auto', '--force', '-f', path.join(dir, 'credentials.yaml'), '--url', url]);
  const lapi: Lapi = {
    url, dir, cscli,
    addMachine(name, password) { cscli(['machines', 'add', name, '--password', password, '-f', '/dev/null']); },
    addBouncer(name) { return cscli(['bouncers', 'add', name, '-o', 'raw']).trim(); },
    async decisions(ip) {
      ownKey ??= lapi.addBouncer(`test-reader-${Date.now()}`);
      const response = await fetch(`${url}/v1/decisions?ip=${encodeURIComponent(ip)}`, { headers: { 'x-api-key': ownKey } });
      if (!response.ok) throw new Error(`GET /v1/decisions: ${response.status}`);
      return ((await response.json()) as Awaited<ReturnType<Lapi['decisions']>> | null) ?? [];
    },
    async start() {
      const log = path.join(dir, 'log', 'crowdsec.log');
      const before = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
      child = spawn(prefix[0] ?? 'crowdsec', [...prefix.slice(1), ...(prefix.length ? ['crowdsec'] : []), '-c', config, '-no-cs'], { stdio: 'ignore' });
      const deadline = Date.now() + 20_000;
      while (!(existsSync(log) && readFileSync(log, 'utf8').slice(before).includes('Local API listening'))) {
        if (Date.now() > deadline || child.exitCode !== null) { await lapi.stop(); throw new Error(`LAPI did not start: ${existsSync(log) ? readFileSync(log, 'utf8').slice(before, before + 2000) : '(no log)'}`); }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (running.exitCode === null) running.kill('SIGKILL');
    },
    async remove() {
      await lapi.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lapi;
}
