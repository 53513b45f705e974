import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LapiClient } from '../../src/crowdsec/client.js';
import { toAlerts } from '../../src/crowdsec/publisher.js';
import { lapiSettings } from '../../src/crowdsec/settings.js';
import { Settings } from '../../src/config/settings.js';
import { createLapi, type Lapi } from '../../bench/cluster/lapi.js';
import { createNetNs, nftElements, type NetNs } from './netns.js';
import { createHost, readJson, sleep, SSH_RULE, waitFor, type PeruseHost } from '../../bench/cluster/host.js';

// Host A bans (its own nft set, in a namespace) and publishes to a real LAPI from Debian's
// crowdsec package; host B follows LAPI's decision stream as a bouncer into its own nft set.
const V4 = 'ip Inet4 ssh_ban', V6 = 'ip6 Inet6 ssh_ban';
// interval: LAPI also carries ranges (IPv6 prefix bans, cscli -r)
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags interval,timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags interval,timeout; }; }\n';
/** The outage: LAPI stopped for a minute while bans happen. */
const OUTAGE_MS = 60_000;
const PORT = 20000 + (process.pid % 20000);
const RETRY = [0.2, 0.5, 1];
const METRICS_PORT = 40000 + (process.pid % 20000);
const queuedMetric = async () => Number(/^peruse_crowdsec_queued (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text())?.[1]);

describe('sharing bans through a real CrowdSec LAPI', () => {
  let lapi: Lapi;
  let nsA: NetNs, nsB: NetNs;
  let a: PeruseHost, b: PeruseHost;
  let crowdsecA: Record<string, unknown>;

  beforeAll(async () => {
    lapi = createLapi(`127.0.0.1:${PORT}`);
    await lapi.start();
    lapi.addMachine('host-a', 'secret-of-a');
    const keyB = lapi.addBouncer('host-b');
    nsA = createNetNs('lapiA');
    nsB = createNetNs('lapiB');
    nsA.run(['nft', '-f', '-'], TABLES);
    nsB.run(['nft', '-f', '-'], TABLES);
    crowdsecA = { url: lapi.url, machine: { login: 'host-a', password: 'secret-of-a' }, retrySeconds: RETRY };
    a = createHost('a', ({ storage, journal }) => ({
      storage, journal: { directory: journal },
      actions: SSH_RULE({ action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, banIPv6Prefix: 64, nftSetIPv4: V4, nftSetIPv6: V6, crowdsec: true } }),
      nftBan: { nft: [...nsA.prefix, 'nft'] },
      crowdsec: crowdsecA,
      metrics: { port: METRICS_PORT },
    }));
    b = createHost('b', ({ storage, journal }) => ({
      storage, journal: { directory: journal }, actions: {},
      nftBan: { nft: [...nsB.prefix, 'nft'] },
      crowdsec: { url: lapi.url, bouncer: { apiKey: keyB, nftSetIPv4: V4, nftSetIPv6: V6, pollSeconds: 0.5, resyncSeconds: 5 }, retrySeconds: RETRY },
    }));
    await a.start();
    await b.start();
  }, 60_000);

  afterAll(async () => {
    await a?.remove();
    await b?.remove();
    await lapi?.remove();
    nsA?.remove();
    nsB?.remove();
  });

  const inB = (ip: string, set = V4) => nftElements(nsB, set).has(ip);
  const storeOfB = () => (existsSync(path.join(b.storage, 'bans-nft.json')) ? readFileSync(path.join(b.storage, 'bans-nft.json'), 'utf8') : '');

  it('an attack in A\'s journal becomes a LAPI decision "peruse/SSH[1]" of origin peruse, with the ban\'s time left', async () => {
    a.attack(['203.0.113.10', '2001:db8:aa:bb::77']);
    await waitFor('the decisions in LAPI', async () => (await lapi.decisions('203.0.113.10')).length === 1 && (await lapi.decisions('2001:db8:aa:bb::77')).length === 1);
    const [v4] = await lapi.decisions('203.0.113.10');
    expect(v4).toMatchObject({ origin: 'peruse', scenario: 'peruse/SSH[1]', scope: 'Ip', value: '203.0.113.10', type: 'ban' });
    const left = Number(/^59m(\d+)/.exec(v4!.duration)?.[1]);
    expect(left).toBeGreaterThan(30);
    const [v6] = await lapi.decisions('2001:db8:aa:bb::77');
    expect(v6).toMatchObject({ origin: 'peruse', scope: 'Range', value: '2001:db8:aa:bb::/64' });
    expect(nftElements(nsA, V4).has('203.0.113.10')).toBe(true);
  });

  it('B, following the decision stream, has the bans in its own sets, and bans list names their origin', async () => {
    await waitFor('the ban in B\'s set', () => inB('203.0.113.10') && inB('2001:db8:aa:bb::/64', V6))
      .catch((e: Error) => { throw new Error(`${e.message}; B said:\n${b.stderr()}`); });
    await waitFor('B\'s store to record it', () => storeOfB().includes('203.0.113.10'));
    const timeout = nftElements(nsB, V4).get('203.0.113.10')!;
    expect(timeout).toBeGreaterThan(3500);
    expect(timeout).toBeLessThanOrEqual(3600);
    const rows = JSON.parse(b.cli(['bans', 'list', '--json']).out) as { ip: string; origin: string; reason: string }[];
    expect(rows.find((r) => r.ip === '203.0.113.10')).toMatchObject({ origin: 'lapi:peruse', reason: 'peruse/SSH[1]' });
    const own = JSON.parse(a.cli(['bans', 'list', '--json']).out) as { ip: string; origin: string; reason: string }[];
    expect(own.find((r) => r.ip === '203.0.113.10')).toMatchObject({ origin: 'local', reason: 'SSH[1]' });
    expect(b.cli(['bans', 'list']).out).toMatch(/203\.0\.113\.10\s+59m\d+s\s+peruse\/SSH\[1\]\s+lapi:peruse/);
  });

  it('bans pulled from LAPI come back at boot with the local ones (bans restore from B\'s store)', () => {
    nsB.run(['nft', 'flush', 'set', ...V4.split(' ')]);
    const { code, err } = b.cli(['bans', 'restore']);
    expect(code, err).toBe(0);
    expect(nftElements(nsB, V4).get('203.0.113.10')).toBeGreaterThan(3400);
  });

  it('A does not take its own decision back from LAPI: no echo into its store, nothing published twice', async () => {
    await sleep(1500);
    const own = JSON.parse(a.cli(['bans', 'list', '--json']).out) as { ip: string; origin: string }[];
    expect(own.filter((r) => r.origin !== 'local')).toEqual([]);
    expect(await lapi.decisions('203.0.113.10')).toHaveLength(1);
  });

  it('a decision cscli adds reaches B\'s set; when cscli deletes it, B removes it', async () => {
    lapi.cscli(['decisions', 'add', '-i', '198.51.100.9', '-d', '2h', '-R', 'manual test']);
    await waitFor('the cscli decision in B', () => inB('198.51.100.9'));
    // the store is written within half a second of the ban
    await waitFor('B\'s store to record it', () => storeOfB().includes('198.51.100.9'));
    const rows = JSON.parse(b.cli(['bans', 'list', '--json']).out) as { ip: string; origin: string }[];
    expect(rows.find((r) => r.ip === '198.51.100.9')?.origin).toBe('lapi:cscli');
    lapi.cscli(['decisions', 'delete', '-i', '198.51.100.9']);
    await waitFor('B to drop the deleted decision', () => !inB('198.51.100.9'));
    await waitFor('B\'s store to forget it', () => !readFileSync(path.join(b.storage, 'bans-nft.json'), 'utf8').includes('198.51.100.9'));
  });

  it('a decision that is not a ban (captcha) is not applied to B\'s firewall', async () => {
    lapi.cscli(['decisions', 'add', '-i', '198.51.100.11', '-d', '1h', '-t', 'captcha']);
    lapi.cscli(['decisions', 'add', '-i', '198.51.100.10', '-d', '1h']);
    await waitFor('the next decision in B', () => inB('198.51.100.10'));
    expect(inB('198.51.100.11')).toBe(false);
  });

  it('bans unban on A deletes the decision in LAPI, and B drops the ban', async () => {
    const { code, out, err } = a.cli(['bans', 'unban', '203.0.113.10']);
    expect(code, err).toBe(0);
    expect(out).toContain('deleted 1 decision(s) of 203.0.113.10');
    expect(nftElements(nsA, V4).has('203.0.113.10')).toBe(false);
    expect(await lapi.decisions('203.0.113.10')).toEqual([]);
    await waitFor('B to drop the unbanned address', () => !inB('203.0.113.10'));
  });

  it('LAPI down for a minute while bans happen: A keeps banning locally, and once LAPI is back every ban reaches it once and B gets them', async () => {
    await lapi.stop();
    const ips = Array.from({ length: 20 }, (_, i) => `203.0.113.${100 + i}`);
    for (const group of [ips.slice(0, 10), ips.slice(10)]) {
      a.attack(group);
      await sleep(OUTAGE_MS / 2);
    }
    // the chain was never held back: every ban is in A's own set while LAPI is still down
    for (const ip of ips) expect(nftElements(nsA, V4).has(ip)).toBe(true);
    expect(readJson<{ items: unknown[] }>(path.join(a.storage, 'crowdsec-outbox.json'))?.items).toHaveLength(20);
    expect(await queuedMetric()).toBe(20);
    await lapi.start();
    await waitFor('every queued ban in LAPI', async () => (await Promise.all(ips.map((ip) => lapi.decisions(ip)))).every((d) => d.length > 0), 30_000);
    for (const ip of ips) expect(await lapi.decisions(ip), ip).toHaveLength(1);
    await waitFor('every ban in B', () => ips.every((ip) => inB(ip)), 30_000);
    await waitFor('the outbox to empty', () => readJson<{ items: unknown[] }>(path.join(a.storage, 'crowdsec-outbox.json'))?.items.length === 0);
    expect(await queuedMetric()).toBe(0);
  }, OUTAGE_MS + 90_000);

  it('A killed -9 with decisions queued: they are sent after its restart, none twice', async () => {
    await lapi.stop();
    const ips = Array.from({ length: 10 }, (_, i) => `198.51.100.${50 + i}`);
    a.attack(ips);
    const outbox = path.join(a.storage, 'crowdsec-outbox.json');
    await waitFor('the bans queued on disk', () => (readJson<{ items: unknown[] }>(outbox)?.items.length ?? 0) === 10);
    // the checkpoint is past the attack: the restart does not read those lines again
    await waitFor('the checkpoint', () => readFileSync(path.join(a.storage, 'peruse.state.json'), 'utf8').length > 0 && !a.stderr().includes('error'));
    await sleep(1500);
    await a.kill9();
    await lapi.start();
    await a.start();
    await waitFor('the queued bans in LAPI', async () => (await Promise.all(ips.map((ip) => lapi.decisions(ip)))).every((d) => d.length > 0), 30_000);
    await sleep(2000);
    for (const ip of ips) expect(await lapi.decisions(ip), ip).toHaveLength(1);
  }, 90_000);

  it('a batch that reached LAPI just before peruse died is looked up after the restart and not sent again; one that did not is sent', async () => {
    expect(await a.stop()).toBe(0);
    const now = Date.now() * 1000;
    const landed = { scenario: 'peruse/SSH[1]', value: '192.0.2.41', until: now + 3600e6, at: now, batch: 'crashed-run-1' };
    const lost = { scenario: 'peruse/SSH[1]', value: '192.0.2.42', until: now + 3600e6, at: now, batch: 'crashed-run-2' };
    // what the dead run had done: POSTed the first batch (LAPI took it), then died before recording the answer
    const client = new LapiClient(lapiSettings(new Settings({ actions: {}, crowdsec: crowdsecA }, '/x.json'))!);
    await client.pushAlerts(toAlerts([landed], landed.batch, now));
    await client.destroy();
    writeFileSync(path.join(a.storage, 'crowdsec-outbox.json'), JSON.stringify({ version: 1, items: [landed, lost] }));
    await a.start();
    await waitFor('the outbox to empty', () => readJson<{ items: unknown[] }>(path.join(a.storage, 'crowdsec-outbox.json'))?.items.length === 0);
    expect(await lapi.decisions('192.0.2.41')).toHaveLength(1);
    expect(await lapi.decisions('192.0.2.42')).toHaveLength(1);
    expect(a.stderr()).toContain('had already reached LAPI');
  });

  it('a ban step with "crowdsec": true and no crowdsec section is a config error naming the arg', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-cs-check-'));
    const file = path.join(dir, 'peruse.json');
    writeFileSync(file, JSON.stringify({ actions: SSH_RULE({ action: 'action_nftBan', args: { IP: 'thatIP', nftSetIPv4: V4, nftSetIPv6: V6, crowdsec: true } }) }, null, 1));
    const result = spawnSync('node', [path.resolve(import.meta.dirname, '../../bin/peruse.js'), 'check', file], { encoding: 'utf8' });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/actions\["SSH"\]\[1\]\.args\.crowdsec {2}E_BAD_ARGS {2}.*"crowdsec" section/);
    expect(existsSync(path.join(dir, 'storage'))).toBe(false);
  });
});

describe('the crowdsec section in peruse check', () => {
  it('names each problem once with its place: missing secrets, a set name that could reach nft unescaped, a wrong URL', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-cs-check-'));
    const file = path.join(dir, 'peruse.json');
    writeFileSync(file, JSON.stringify({ actions: {}, crowdsec: {
      url: 'ftp://lapi', machine: { login: 'a' }, bouncer: { nftSetIPv4: 'ip t s; flush ruleset', nftSetIPv6: 'ip6 t s' },
    } }, null, 1));
    const result = spawnSync('node', [path.resolve(import.meta.dirname, '../../bin/peruse.js'), 'check', file], { encoding: 'utf8' });
    expect(result.status).toBe(78);
    const lines = result.stderr.trim().split('\n').map((l) => l.replace(`${file}:`, ''));
    expect(lines).toEqual([
      '4:3  crowdsec.url  E_SCHEMA  must match pattern "^https?://"',
      '5:3  crowdsec.machine  E_SCHEMA  missing required property "password"',
      '8:3  crowdsec.bouncer  E_SCHEMA  missing required property "apiKey"',
      expect.stringMatching(/^9:4 {2}crowdsec\.bouncer\.nftSetIPv4 {2}E_SCHEMA {2}must match pattern/),
      ' 4 error(s), 0 warning(s)',
    ]);
  });
});

describe('action_crowdsecBan over TLS', () => {
  let lapi: Lapi;
  let dir: string;
  const port = 20000 + ((process.pid + 7) % 20000);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-lapi-tls-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=peruse test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'lapi.key', '-out', 'lapi.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'lapi.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'lapi.pem', '-days', '2', '-extfile', 'san.cnf');
    lapi = createLapi(`127.0.0.1:${port}`, [], { cert: path.join(dir, 'lapi.pem'), key: path.join(dir, 'lapi.key') });
    await lapi.start();
    lapi.addMachine('central', 'central-pw');
    writeFileSync(path.join(dir, 'lapi-password'), 'central-pw\n');
  }, 60_000);

  afterAll(async () => {
    await lapi?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function replayAttack(name: string, tls: Record<string, unknown>, ip: string) {
    const home = mkdtempSync(path.join(dir, `${name}-`));
    writeFileSync(path.join(home, 'peruse.json'), JSON.stringify({
      storage: path.join(home, 'storage'),
      actions: SSH_RULE({ action: 'action_crowdsecBan', args: { IP: 'thatIP', banSeconds: 600 } }),
      crowdsec: { url: lapi.url, machine: { login: 'central', passwordFile: path.join(dir, 'lapi-password') }, tls },
    }));
    writeFileSync(path.join(home, 'in.jsonl'), JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.now() * 1000), MESSAGE: `Invalid user admin from ${ip}` }) + '\n');
    const result = spawnSync('node', [path.resolve(import.meta.dirname, '../../bin/peruse.js'), 'replay', '--input', path.join(home, 'in.jsonl'), '--config', path.join(home, 'peruse.json')], { encoding: 'utf8' });
    return { ...result, storage: path.join(home, 'storage') };
  }

  const decisionsOf = (ip: string) => JSON.parse(lapi.cscli(['decisions', 'list', '--origin', 'peruse', '-i', ip, '-o', 'json']) || 'null') as { decisions: { value: string; origin: string; scenario: string }[] }[] | null;

  it('with the CA of LAPI\'s certificate, a replayed attack is published over https', () => {
    const result = replayAttack('trusted', { ca: path.join(dir, 'ca.pem') }, '192.0.2.77');
    expect(result.status, result.stderr).toBe(0);
    const alerts = decisionsOf('192.0.2.77');
    expect(alerts?.flatMap((a) => a.decisions).map((d) => [d.value, d.origin, d.scenario])).toEqual([['192.0.2.77', 'peruse', 'peruse/SSH[1]']]);
  });

  it('without it, LAPI\'s certificate is refused: logged, nothing published, the ban kept in the outbox', () => {
    const result = replayAttack('untrusted', {}, '192.0.2.78');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/crowdsec: POST https:\/\/127\.0\.0\.1:\d+\/v1\/watchers\/login: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    expect(decisionsOf('192.0.2.78')).toBeNull();
    expect(readJson<{ items: { value: string }[] }>(path.join(result.storage, 'crowdsec-outbox.json'))?.items.map((i) => i.value)).toEqual(['192.0.2.78']);
  });

  it('replay --dry-run says what it would publish and sends nothing', () => {
    const home = mkdtempSync(path.join(dir, 'dry-'));
    writeFileSync(path.join(home, 'peruse.json'), JSON.stringify({
      storage: path.join(home, 'storage'),
      actions: SSH_RULE({ action: 'action_crowdsecBan', args: { IP: 'thatIP', banSeconds: 600 } }),
      crowdsec: { url: lapi.url, machine: { login: 'central', password: 'central-pw' } },
    }));
    writeFileSync(path.join(home, 'in.jsonl'), JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.now() * 1000), MESSAGE: 'Invalid user admin from 192.0.2.79' }) + '\n');
    const result = spawnSync('node', [path.resolve(import.meta.dirname, '../../bin/peruse.js'), 'replay', '--dry-run', '--input', path.join(home, 'in.jsonl'), '--config', path.join(home, 'peruse.json')], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/would publish to LAPI: ban 192\.0\.2\.79 until \S+ \(peruse\/SSH\[1\]\)/);
    expect(decisionsOf('192.0.2.79')).toBeNull();
    expect(existsSync(path.join(home, 'storage', 'crowdsec-outbox.json'))).toBe(false);
  });
});
