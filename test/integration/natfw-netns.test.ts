// Real kernel, real rules: a client namespace sends TCP, UDP and ICMP through a NAT namespace
// whose nft rules were loaded by `peruse natfw generate`, to a server namespace that reports
// the source port / ICMP id it saw. Every observed port must lie in the sender's block, and
// `peruse natfw trace` on what the server saw must name the sender. The host's own firewall is
// never touched: every nft/conntrack command runs inside a namespace this test created.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync, writeFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

const ROOT = resolve(import.meta.dirname, '../..');
const PERUSE = join(ROOT, 'bin/peruse.js');
const tag = randomBytes(3).toString('hex');
const CLIENT = `nfc-${tag}`;
const NAT = `nfn-${tag}`;
const SERVER = `nfs-${tag}`;
const SERVER_IP = '192.0.2.100';
const PUBLICS = ['192.0.2.1', '192.0.2.2'];
// hosts .2–.254 on two public addresses: .2–.128 leave from 192.0.2.1, .129–.254 from 192.0.2.2
const SENDERS = ['10.77.0.2', '10.77.0.3', '10.77.0.128', '10.77.0.129', '10.77.0.254'];

function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const inNs = (ns: string, ...argv: string[]): string => sh('ip', 'netns', 'exec', ns, ...argv);

function peruse(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PERUSE, 'natfw', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** dist/ must hold the current sources: rebuild when a natfw source is newer than its output. */
function ensureBuilt(): void {
  const newestSource = Math.max(...['src/natfw', 'src/cli'].flatMap((d) =>
    readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(ROOT, d, f)).mtimeMs)));
  let built = 0;
  try { built = Math.min(statSync(join(ROOT, 'dist/src/cli/natfw.js')).mtimeMs, statSync(join(ROOT, 'dist/src/natfw/trace.js')).mtimeMs); } catch { /* not built */ }
  if (built < newestSource) spawnSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'ignore' });
}

const SERVER_SCRIPT = `
const net = require('node:net'), dgram = require('node:dgram');
net.createServer((s) => s.end(JSON.stringify({ address: s.remoteAddress, port: s.remotePort }))).listen(7000, '${SERVER_IP}');
const udp = dgram.createSocket('udp4');
udp.on('message', (m, r) => udp.send(JSON.stringify({ address: r.address, port: r.port }), r.port, r.address));
udp.bind(7001, '${SERVER_IP}', () => console.log('ready'));
`;

const CLIENT_SCRIPT = `
const net = require('node:net'), dgram = require('node:dgram');
const [proto, source] = process.argv.slice(2);
const done = (text) => { console.log(text); process.exit(0); };
setTimeout(() => { console.error('timeout'); process.exit(1); }, 5000);
if (proto === 'tcp') {
  let data = '';
  net.connect({ host: '${SERVER_IP}', port: 7000, localAddress: source }).on('data', (d) => data += d).on('end', () => done(data));
} else {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => done(String(m)));
  s.bind(0, source, () => s.send('hello', 7001, '${SERVER_IP}'));
}
`;

// ICMP echo from a chosen source (no ping binary here): raw socket, wait for the matching reply
const PING_SCRIPT = `
import socket, struct, sys
src, dst, ident = sys.argv[1], sys.argv[2], int(sys.argv[3])
def checksum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
payload = b'natfw-test'
header = struct.pack('!BBHHH', 8, 0, 0, ident, 1)
packet = struct.pack('!BBHHH', 8, 0, checksum(header + payload), ident, 1) + payload
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.bind((src, 0)); sock.settimeout(3)
sock.sendto(packet, (dst, 0))
while True:
    data, _ = sock.recvfrom(1500)
    ihl = (data[0] & 15) * 4
    kind, _, _, rid, _ = struct.unpack('!BBHHH', data[ihl:ihl + 8])
    if kind == 0 and rid == ident:
        print('reply'); break
`;

let archiveDir: string;
let scratch: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  archiveDir = mkdtempSync(join(tmpdir(), 'natfw-archive-'));
  scratch = mkdtempSync(join(tmpdir(), 'natfw-scratch-'));
  for (const ns of [CLIENT, NAT, SERVER]) sh('ip', 'netns', 'add', ns);
  // created directly inside the namespaces: no interface ever appears on the host
  sh('ip', 'link', 'add', 'name', 'vc0', 'netns', CLIENT, 'type', 'veth', 'peer', 'name', 'vn0', 'netns', NAT);
  sh('ip', 'link', 'add', 'name', 'vn1', 'netns', NAT, 'type', 'veth', 'peer', 'name', 'vs0', 'netns', SERVER);
  inNs(CLIENT, 'ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'vc0');
  for (const extra of SENDERS.slice(1)) inNs(CLIENT, 'ip', 'addr', 'add', `${extra}/32`, 'dev', 'vc0');
  inNs(NAT, 'ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'vn0');
  for (const address of PUBLICS) inNs(NAT, 'ip', 'addr', 'add', `${address}/24`, 'dev', 'vn1');
  inNs(SERVER, 'ip', 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'vs0');
  for (const [ns, dev] of [[CLIENT, 'vc0'], [NAT, 'vn0'], [NAT, 'vn1'], [SERVER, 'vs0']] as const) {
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  inNs(CLIENT, 'ip', 'route', 'add', 'default', 'via', '10.77.0.1');
  inNs(NAT, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // the server tracks connections only if a rule asks for conntrack: this one does, so `conntrack -L` there shows ICMP ids
  writeFileSync(join(scratch, 'observe.nft'), [
    'table ip observe {', '\tchain input {', '\t\ttype filter hook input priority 0;', '\t\tct state new counter', '\t}', '}', '',
  ].join('\n'));
  inNs(SERVER, 'nft', '-f', join(scratch, 'observe.nft'));
  writeFileSync(join(scratch, 'server.cjs'), SERVER_SCRIPT);
  writeFileSync(join(scratch, 'client.cjs'), CLIENT_SCRIPT);
  writeFileSync(join(scratch, 'ping.py'), PING_SCRIPT);
  server = spawn('ip', ['netns', 'exec', SERVER, process.execPath, join(scratch, 'server.cjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    server!.stdout!.on('data', (d: Buffer) => { if (String(d).includes('ready')) ready(); });
    server!.on('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
});

afterAll(() => {
  if (server?.pid) server.kill();
  for (const ns of [CLIENT, NAT, SERVER]) spawnSync('ip', ['netns', 'del', ns]);
  if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const generateArgs = (): string[] => [
  'generate', '--network', '10.77.0.0/24', '--public', PUBLICS[1]!, '--public', PUBLICS[0]!, '--out-iface', 'vn1',
  '--exclude', '32768-60999', '--archive-dir', archiveDir,
  '--validate-cmd', `ip netns exec ${NAT} nft -c -f {}`,
  '--reload-cmd', `ip netns exec ${NAT} nft -f {}`,
  '--conntrack-cmd', `ip netns exec ${NAT} conntrack`,
];

interface Block { internal: string; public: string; lo: number; hi: number }
function currentBlocks(): Map<string, Block> {
  const manifest = JSON.parse(readFileSync(join(archiveDir, readlinkSync(join(archiveDir, 'current'))), 'utf8')) as { blocks: Block[] };
  return new Map(manifest.blocks.map((b) => [b.internal, b]));
}

function traceAt(publicIp: string, port: number, proto: string): { code: number; answer: Record<string, unknown> } {
  const r = peruse('trace', '--archive-dir', archiveDir, '--time', new Date().toISOString(), '--public-ip', publicIp,
    '--port', String(port), '--proto', proto, '--json');
  return { code: r.code, answer: JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('natfw in network namespaces', () => {
  it('generate loads the rules into the NAT namespace and archives them', () => {
    const r = peruse(...generateArgs());
    expect(r.stderr).toContain('activated');
    expect(r.code).toBe(0);
    const ruleset = inNs(NAT, 'nft', 'list', 'table', 'ip', 'peruse_natfw');
    const blocks = currentBlocks();
    expect(blocks.size).toBe(253);
    // sequential per public address: the first host of each address gets the top block
    expect(blocks.get('10.77.0.2')).toMatchObject({ public: '192.0.2.1', hi: 65535 });
    expect(blocks.get('10.77.0.129')).toMatchObject({ public: '192.0.2.2', hi: 65535 });
    for (const b of blocks.values()) expect(ruleset).toContain(`${b.internal} : ${b.public} . ${b.lo}-${b.hi}`);
  });

  it('TCP from every client address leaves from a port inside its block, and trace names the sender', () => {
    const blocks = currentBlocks();
    for (const source of SENDERS) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const seen = JSON.parse(inNs(CLIENT, process.execPath, join(scratch, 'client.cjs'), 'tcp', source)) as { address: string; port: number };
        const block = blocks.get(source)!;
        expect(seen.address).toBe(block.public);
        expect(seen.port).toBeGreaterThanOrEqual(block.lo);
        expect(seen.port).toBeLessThanOrEqual(block.hi);
        const { code, answer } = traceAt(seen.address, seen.port, 'tcp');
        expect({ code, status: answer.status, internal: answer.internal }).toEqual({ code: 0, status: 'found', internal: source });
      }
    }
  });

  it('UDP from every client address leaves from a port inside its block, and trace names the sender', () => {
    const blocks = currentBlocks();
    for (const source of SENDERS) {
      const seen = JSON.parse(inNs(CLIENT, process.execPath, join(scratch, 'client.cjs'), 'udp', source)) as { address: string; port: number };
      const block = blocks.get(source)!;
      expect(seen.address).toBe(block.public);
      expect(seen.port).toBeGreaterThanOrEqual(block.lo);
      expect(seen.port).toBeLessThanOrEqual(block.hi);
      expect(traceAt(seen.address, seen.port, 'udp').answer).toMatchObject({ status: 'found', internal: source });
    }
  });

  it('ICMP echo ids are confined to the blocks too, as the server conntrack sees them', () => {
    const blocks = currentBlocks();
    inNs(SERVER, 'conntrack', '-F');
    // ids far outside every block, so that an untranslated id would show
    SENDERS.forEach((source, i) => {
      expect(inNs(CLIENT, '/usr/bin/python3', join(scratch, 'ping.py'), source, SERVER_IP, String(1000 + i)).trim()).toBe('reply');
    });
    const entries = inNs(SERVER, 'conntrack', '-L', '-p', 'icmp');
    const seen = [...entries.matchAll(/src=(\S+) dst=192\.0\.2\.100 type=8 code=0 id=(\d+)/g)].map((m) => ({ address: m[1]!, id: Number(m[2]) }));
    expect(seen).toHaveLength(SENDERS.length);
    const named = new Set<string>();
    for (const { address, id } of seen) {
      const { answer } = traceAt(address, id, 'icmp');
      expect(answer.status).toBe('found');
      const block = blocks.get(answer.internal as string)!;
      expect(address).toBe(block.public);
      expect(id).toBeGreaterThanOrEqual(block.lo);
      expect(id).toBeLessThanOrEqual(block.hi);
      named.add(answer.internal as string);
    }
    expect([...named].sort()).toEqual([...SENDERS].sort());
  });

  it('a second generate with the same input reports unchanged and runs nothing', () => {
    const before = readdirSync(archiveDir).sort();
    const r = peruse(...generateArgs());
    expect(r).toMatchObject({ code: 0, stdout: 'unchanged\n' });
    expect(readdirSync(archiveDir).sort()).toEqual(before);
  });

  it('a reload that fails exits 5 and leaves the live rules and the archive as they were', () => {
    const before = readdirSync(archiveDir).sort();
    const args = generateArgs();
    args[args.indexOf('--reload-cmd') + 1] = `ip netns exec ${NAT} nft -f {} && false`;
    const r = peruse(...args.map((a) => (a === '10.77.0.0/24' ? '10.77.0.0/25' : a)));
    expect(r.code).toBe(5);
    expect(readdirSync(archiveDir).sort()).toEqual(before);
    // the rollback reloaded the archived rules: the /24 allocation is live again
    expect(inNs(NAT, 'nft', 'list', 'table', 'ip', 'peruse_natfw')).toContain('10.77.0.254 : 192.0.2.2');
  });

  it('with the iptables-chain format and the default commands, run inside a namespace, the NATFW jump is added once', () => {
    const ns = `nfi-${tag}`;
    const dir = mkdtempSync(join(tmpdir(), 'natfw-ipt-'));
    sh('ip', 'netns', 'add', ns);
    try {
      // the whole command runs inside the namespace, so its default validate/reload/conntrack commands do too
      const run = (network: string): number => spawnSync('ip', ['netns', 'exec', ns, process.execPath, PERUSE, 'natfw', 'generate',
        '--format', 'iptables-chain', '--network', network, '--public', '192.0.2.1', '--out-iface', 'eth9',
        '--exclude', '32768-60999', '--archive-dir', dir], { encoding: 'utf8' }).status ?? -1;
      expect(run('10.88.0.0/24')).toBe(0);
      expect(run('10.88.0.0/25')).toBe(0);
      const rules = inNs(ns, 'iptables', '-t', 'nat', '-S');
      expect(rules.match(/^-A POSTROUTING -j NATFW$/gm)).toHaveLength(1);
      // the second allocation replaced the first: .200 is gone, .2 has the /25 block
      expect(rules).not.toContain('10.88.0.200/32');
      expect(rules).toMatch(/-A NATFW -s 10\.88\.0\.2\/32 -o eth9 -p icmp -j SNAT --to-source 192\.0\.2\.1:\d+-65535/);
      expect(inNs(ns, 'iptables-save')).not.toContain('*filter');
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a change flushes the conntrack entries of the moved hosts, so a trace right after it is not ambiguous', () => {
    for (const source of ['10.77.0.2', '10.77.0.254']) inNs(CLIENT, process.execPath, join(scratch, 'client.cjs'), 'udp', source);
    const udpSources = (): string[] => [...inNs(NAT, 'conntrack', '-L', '-p', 'udp').matchAll(/^udp\s+\d+\s+\d+\s+src=(\S+)/gm)].map((m) => m[1]!);
    expect(udpSources()).toEqual(expect.arrayContaining(['10.77.0.2', '10.77.0.254']));
    // /25: every remaining host gets a bigger block, .129–.254 disappear: all of them moved
    const r = peruse(...generateArgs().map((a) => (a === '10.77.0.0/24' ? '10.77.0.0/25' : a)), '-v');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/conntrack: 253 moved host\(s\) flushed\n/);
    expect(udpSources().filter((address) => address.startsWith('10.77.0.'))).toEqual([]);
    const seen = JSON.parse(inNs(CLIENT, process.execPath, join(scratch, 'client.cjs'), 'udp', '10.77.0.2')) as { address: string; port: number };
    const answer = traceAt(seen.address, seen.port, 'udp').answer;
    expect(answer).toMatchObject({ status: 'found', internal: '10.77.0.2' });
    expect(answer.candidates).toBeUndefined();
  });
});
