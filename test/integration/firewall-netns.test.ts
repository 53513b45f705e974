// peruse makes its own sets and drop rules, and they really drop: a "server" namespace holds the
// firewall peruse sets up (nft, or ipset + iptables), a "client" namespace joined by veth sends
// ping and TCP from an attacker's address and from another one, IPv4 and IPv6. The host's own
// firewall is never touched: every nft/ipset/iptables command runs inside a namespace made here.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const tag = randomBytes(3).toString('hex');
const SERVER = `pfs-${tag}`, CLIENT = `pfc-${tag}`;
const SERVER4 = '198.51.100.1', ATTACKER4 = '198.51.100.66', OTHER4 = '198.51.100.77';
const SERVER6 = '2001:db8:f0::1', ATTACKER6 = '2001:db8:f0::66', OTHER6 = '2001:db8:f0::77';
const PORT = 7070;
const inNs = (ns: string) => ['ip', 'netns', 'exec', ns];

function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const CONNECT = `
const [host, source] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: ${PORT}, localAddress: source, timeout: 1500 });
s.on('data', (d) => { process.stdout.write(String(d)); process.exit(0); });
s.on('timeout', () => process.exit(2)); s.on('error', () => process.exit(3));`;

function run(argv: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** What gets through from `source` to the server: ping and a TCP exchange. */
async function reach(source: string): Promise<{ ping: boolean; tcp: boolean }> {
  const server = source.includes(':') ? SERVER6 : SERVER4;
  const [ping, tcp] = await Promise.all([
    run([...inNs(CLIENT), 'ping', '-c', '3', '-i', '0.2', '-W', '1', '-I', source, server]),
    run([...inNs(CLIENT), process.execPath, '-e', CONNECT, server, source]),
  ]);
  return { ping: ping.code === 0, tcp: tcp.code === 0 && tcp.out === 'hello' };
}

const untilPast = (time: number) => new Promise((r) => setTimeout(r, Math.max(0, time - Date.now())));
const BOTH = { ping: true, tcp: true }, NONE = { ping: false, tcp: false };

function peruse(dir: string, ...args: string[]) {
  return run([process.execPath, PERUSE, ...args, '--config', path.join(dir, 'peruse.json')],
    { ...process.env, PERUSE_CONTROL_SOCKET: path.join(dir, 'no-daemon.sock') });
}

function writeConfig(backend: 'nft' | 'ipset', extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), `peruse-fw-${backend}-`));
  const sets = backend === 'nft'
    ? { action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, banIPv6Prefix: 64, nftSetIPv4: 'inet peruse ban4', nftSetIPv6: 'inet peruse ban6' } }
    : { action: 'action_ipsetBan', args: { IP: 'thatIP', banSeconds: 3600, banIPv6Prefix: 64, ipSetIPv4: `pb4-${tag}`, ipSetIPv6: `pb6-${tag}` } };
  writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
    actions: { Ban: [sets] },
    storage: path.join(dir, 'storage'),
    nftBan: { nft: [...inNs(SERVER), 'nft'] },
    ipsetBan: { ipset: [...inNs(SERVER), 'ipset', '-exist', '-quiet'] },
    // no firewall.iptables: iptables runs where the ipset command runs (in the namespace)
    ...extra,
  }));
  return dir;
}

let listener: ChildProcess | undefined;

beforeAll(async () => {
  sh('ip', 'netns', 'add', SERVER);
  sh('ip', 'netns', 'add', CLIENT);
  sh('ip', 'link', 'add', `vs-${tag}`, 'netns', SERVER, 'type', 'veth', 'peer', 'name', `vc-${tag}`, 'netns', CLIENT);
  for (const [ns, dev, addrs] of [[SERVER, `vs-${tag}`, [`${SERVER4}/24`, `${SERVER6}/64`]], [CLIENT, `vc-${tag}`, [`${ATTACKER4}/24`, `${OTHER4}/24`, `${ATTACKER6}/64`, `${OTHER6}/64`]]] as const) {
    for (const a of addrs) sh(...inNs(ns), 'ip', 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : []));
    sh(...inNs(ns), 'ip', 'link', 'set', dev, 'up');
    sh(...inNs(ns), 'ip', 'link', 'set', 'lo', 'up');
  }
  // the server says hello on TCP, on IPv4 and IPv6
  listener = spawn('ip', [...inNs(SERVER).slice(1), process.execPath, '-e',
    `require('node:net').createServer((s) => s.end('hello')).listen(${PORT}, '::', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => listener!.stdout!.once('data', () => resolve()));
  // wait for the addresses to be usable (IPv6 neighbour discovery)
  for (let i = 0; i < 50 && !((await reach(OTHER6)).tcp && (await reach(OTHER4)).tcp); i++) await new Promise((r) => setTimeout(r, 100));
}, 30_000);

afterAll(() => {
  listener?.kill();
  spawnSync('ip', ['netns', 'delete', CLIENT]);
  spawnSync('ip', ['netns', 'delete', SERVER]);
});

describe.sequential('the firewall peruse makes for its bans, in network namespaces', () => {
  it('before any ban, both client addresses reach the server by ping and TCP, IPv4 and IPv6', async () => {
    for (const source of [ATTACKER4, OTHER4, ATTACKER6, OTHER6]) expect(await reach(source), source).toEqual(BOTH);
  });

  it('nft: bans restore makes the inet peruse table, its timeout sets (interval for prefix bans) and drop chains, twice without duplicating', async () => {
    const dir = writeConfig('nft');
    expect(await peruse(dir, 'bans', 'restore')).toMatchObject({ code: 0 });
    expect(await peruse(dir, 'bans', 'restore')).toMatchObject({ code: 0 });
    const table = sh(...inNs(SERVER), 'nft', 'list', 'table', 'inet', 'peruse');
    expect(table).toMatch(/set ban4 \{\s*type ipv4_addr\s*flags timeout\s*\}/);
    expect(table).toMatch(/set ban6 \{\s*type ipv6_addr\s*flags interval,timeout\s*\}/);
    expect(table).toMatch(/chain peruse_input \{\s*type filter hook input priority filter - 10; policy accept;/);
    expect(table).toMatch(/chain peruse_forward \{\s*type filter hook forward priority filter - 10; policy accept;/);
    expect(table.match(/ip saddr @ban4 drop/g)).toHaveLength(2);
    expect(table.match(/ip6 saddr @ban6 drop/g)).toHaveLength(2);
  });

  it('nft: a ban drops the attacker\'s ping and TCP, IPv4 and IPv6, while the other address gets through; unban lets it back', async () => {
    const dir = writeConfig('nft');
    expect(await peruse(dir, 'bans', 'ban', ATTACKER4)).toMatchObject({ code: 0 });
    expect(await peruse(dir, 'bans', 'ban', ATTACKER6)).toMatchObject({ code: 0 });
    expect(await reach(ATTACKER4)).toEqual(NONE);
    expect(await reach(ATTACKER6)).toEqual(NONE);
    expect(await reach(OTHER4)).toEqual(BOTH);
    expect(await reach(OTHER6)).toEqual(BOTH);
    expect(await peruse(dir, 'bans', 'unban', ATTACKER4)).toMatchObject({ code: 0 });
    expect(await peruse(dir, 'bans', 'unban', ATTACKER6)).toMatchObject({ code: 0 });
    expect(await reach(ATTACKER4)).toEqual(BOTH);
    expect(await reach(ATTACKER6)).toEqual(BOTH);
  });

  it('nft: once a ban times out, the attacker gets through again', async () => {
    const dir = writeConfig('nft');
    expect(await peruse(dir, 'bans', 'ban', ATTACKER4, '--for', '15s')).toMatchObject({ code: 0 });
    // the kernel counts the timeout from when nft added the element: by now at the latest
    const banned4 = Date.now();
    expect(await reach(ATTACKER4)).toEqual(NONE);
    expect(await peruse(dir, 'bans', 'ban', `${ATTACKER6}/64`, '--for', '15s')).toMatchObject({ code: 0 });
    const banned6 = Date.now();
    expect(await reach(OTHER6)).toEqual(NONE); // the whole /64 is banned
    expect(await reach(OTHER4)).toEqual(BOTH);
    await untilPast(banned4 + 15_500);
    expect(await reach(ATTACKER4)).toEqual(BOTH);
    await untilPast(banned6 + 15_500);
    expect(await reach(OTHER6)).toEqual(BOTH);
  }, 90_000);

  it('nft: with firewall.manage false nothing is made, and check (as root) warns about each missing set with its config position', async () => {
    spawnSync('ip', [...inNs(SERVER).slice(1), 'nft', 'delete', 'table', 'inet', 'peruse']); // made by the tests above, if they ran
    const dir = writeConfig('nft', { firewall: { manage: false } });
    const checked = await peruse(dir, 'check');
    expect(checked.code).toBe(0);
    expect(checked.err).toMatch(/peruse\.json:1:\d+ {2}actions\["Ban"\]\[0\]\.args\.nftSetIPv4 {2}W_SET_MISSING {2}nft set "inet peruse ban4" does not exist/);
    expect(checked.err).toMatch(/W_SET_MISSING {2}nft set "inet peruse ban6"/);
    expect(checked.err.match(/W_SET_MISSING/g)).toHaveLength(2); // once per set, however it is known
    expect((await peruse(dir, 'bans', 'restore')).code).toBe(0); // no ban stored: nothing to do
    expect(spawnSync('ip', [...inNs(SERVER).slice(1), 'nft', 'list', 'table', 'inet', 'peruse']).status).not.toBe(0);
    // managed (the default), check has nothing to say about sets peruse will make
    expect((await peruse(writeConfig('nft'), 'check')).err).not.toMatch(/W_SET_MISSING/);
  });

  it('ipset: bans restore makes the sets (timeout; hash:net for prefix bans) and one iptables/ip6tables DROP rule per set and chain, however often it runs', async () => {
    const dir = writeConfig('ipset');
    expect(await peruse(dir, 'bans', 'restore')).toMatchObject({ code: 0 });
    expect(await peruse(dir, 'bans', 'restore')).toMatchObject({ code: 0 });
    expect(sh(...inNs(SERVER), 'ipset', 'list', `pb4-${tag}`)).toMatch(/Type: hash:ip\n[\s\S]*Header: family inet .*timeout 0/);
    // prefix bans (banIPv6Prefix) need a hash:net set
    expect(sh(...inNs(SERVER), 'ipset', 'list', `pb6-${tag}`)).toMatch(/Type: hash:net\n[\s\S]*Header: family inet6 .*timeout 0/);
    const rules4 = sh(...inNs(SERVER), 'iptables', '-S');
    const rules6 = sh(...inNs(SERVER), 'ip6tables', '-S');
    for (const chain of ['INPUT', 'FORWARD']) {
      expect(rules4.split('\n').filter((l) => l === `-A ${chain} -m set --match-set pb4-${tag} src -j DROP`)).toHaveLength(1);
      expect(rules6.split('\n').filter((l) => l === `-A ${chain} -m set --match-set pb6-${tag} src -j DROP`)).toHaveLength(1);
    }
  }, 90_000);

  it('ipset: a ban drops the attacker (ping, TCP, IPv4, IPv6), not the other address; unban and timeout let it back', async () => {
    const dir = writeConfig('ipset');
    expect(await peruse(dir, 'bans', 'ban', ATTACKER6, '--for', '15s')).toMatchObject({ code: 0 });
    const banned = Date.now();
    expect(await reach(ATTACKER6)).toEqual(NONE);
    expect(await peruse(dir, 'bans', 'ban', ATTACKER4)).toMatchObject({ code: 0 });
    expect(await reach(ATTACKER4)).toEqual(NONE);
    expect(await reach(OTHER4)).toEqual(BOTH);
    expect(await reach(OTHER6)).toEqual(BOTH);
    expect(await peruse(dir, 'bans', 'unban', ATTACKER4)).toMatchObject({ code: 0 });
    expect(await reach(ATTACKER4)).toEqual(BOTH);
    await untilPast(banned + 15_500);
    expect(await reach(ATTACKER6)).toEqual(BOTH);
  }, 90_000);
});
