import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/natfw.js';

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { stdout += String(chunk); return true; });
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { stderr += String(chunk); return true; });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

const base = ['generate', '--public', '192.0.2.1', '--out-iface', 'eth0', '--dry-run'];

describe('natfw generate (command line)', () => {
  it('a dry run prints the nft rules on stdout and a summary on stderr', async () => {
    const r = await run(...base, '--network', '192.168.101.0/24', '--exclude', '32768-60999');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('192.168.101.2 : 192.0.2.1 . 65394-65535');
    expect(r.stderr).toContain('blocks of 142 ports');
  });

  it('--format json prints the manifest with its blocks, and needs no interface for a dry run', async () => {
    const r = await run('generate', '--public', '192.0.2.1', '-n', '--format', 'json', '--network', '192.168.101.0/24',
      '--port-range', '1280-65535', '--exclude', 'none');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(r.stdout) as { blocks: unknown[]; blockSize: number };
    expect(manifest.blockSize).toBe(253);
    expect(manifest.blocks[0]).toEqual({ internal: '192.168.101.2', public: '192.0.2.1', lo: 65283, hi: 65535 });
  });

  it('the compat mode takes the old script options and refuses pool options that contradict it', async () => {
    const r = await run(...base, '--compat', 'eduvpn-natfw', '--network', '192.168.101.0/24', '--format', 'iptables-table');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-A POSTROUTING -s 192.168.101.254/32 -o eth0 -p tcp -j SNAT --to-source 192.0.2.1:33152-33279');
    expect((await run(...base, '--compat', 'eduvpn-natfw', '--network', '192.168.101.0/24', '--exclude', 'none')).code).toBe(2);
  });

  it('exits 2 on a public network, a missing interface, a bad option or an unknown subcommand', async () => {
    expect((await run(...base, '--network', '100.7.0.0/24')).code).toBe(2);
    expect((await run('generate', '--public', '192.0.2.1', '--network', '10.0.0.0/24', '-n')).code).toBe(2);
    expect((await run(...base, '--network', '10.0.0.0/24', '--bogus')).code).toBe(2);
    expect((await run(...base, '--network', '10.0.0.0/24', '--format', 'pf')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('exits 3 on an infeasible allocation and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-cli-'));
    try {
      const r = await run('generate', '--public', '192.0.2.1', '--out-iface', 'eth0', '--network', '10.0.0.0/16', '--archive-dir', dir);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/infeasible/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('activates with a custom reload command, then says unchanged on the second run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-cli-'));
    try {
      const args = ['generate', '--public', '192.0.2.1', '--out-iface', 'eth0', '--network', '10.0.0.0/24', '--archive-dir', dir,
        '--exclude', '32768-60999', '--validate-cmd', 'test -s {}', '--reload-cmd', `cp {} ${join(dir, 'loaded.nft')}`, '--conntrack-flush', 'none'];
      expect((await run(...args)).code).toBe(0);
      const second = await run(...args);
      expect(second).toMatchObject({ code: 0, stdout: 'unchanged\n' });
      const failing = await run(...args.slice(0, -4), '--network', '10.0.1.0/24', '--reload-cmd', 'false', '--conntrack-flush', 'none');
      expect(failing.code).toBe(5);
      // never the default loader here: it would touch the host's firewall
      const invalid = await run(...args.slice(0, -4), '--network', '10.0.1.0/24', '--validate-cmd', 'false', '--reload-cmd', 'true',
        '--conntrack-flush', 'none');
      expect(invalid.code).toBe(4);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('natfw trace (command line)', () => {
  it('prints the JSON answer and exits with the status code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-cli-'));
    try {
      writeFileSync(join(dir, 'rules.v4.1700000000'), [
        '*nat', '-A POSTROUTING -s 192.168.101.2 -p tcp -j SNAT --to-source 192.0.2.1:65408-65535', 'COMMIT', ''].join('\n'));
      const found = await run('trace', '--archive-dir', dir, '--time', '2023-11-14T22:13:21Z', '--public-ip', '192.0.2.1', '--port', '65500', '--json');
      expect(found.code).toBe(0);
      expect(JSON.parse(found.stdout)).toEqual({
        status: 'found', internal: '192.168.101.2', public: '192.0.2.1', port: 65500, protocol: 'tcp',
        time: '2023-11-14T22:13:21.000Z', archive: join(dir, 'rules.v4.1700000000'), archiveTime: '2023-11-14T22:13:20.000Z', block: [65408, 65535],
      });
      expect((await run('trace', '--archive-dir', dir, '--time', '1699999999', '--public-ip', '192.0.2.1', '--port', '65500')).code).toBe(3);
      expect((await run('trace', '--archive-dir', dir, '--time', '1700000001', '--public-ip', '192.0.2.1', '--port', '1000')).code).toBe(4);
      expect((await run('trace', '--archive-dir', dir, '--time', '2023-11-14 22:13:21', '--public-ip', '192.0.2.1', '--port', '65500')).code).toBe(2);
      expect((await run('trace', '--archive-dir', dir, '--time', '2023-11-14 23:13:21', '--tz', 'Europe/Amsterdam', '--public-ip', '192.0.2.1', '--port', '65500')).code).toBe(0);
      expect((await run('trace', '--archive-dir', dir, '--time', '1700000001', '--public-ip', '192.0.2.1')).code).toBe(2);
      expect((await run('trace', '--archive-dir', dir, '--time', '1700000001', '--public-ip', '192.0.2.1', '--port', '65500', '--stale', 'sctp=5')).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('joins the eduVPN connection log to name the user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-cli-'));
    try {
      writeFileSync(join(dir, 'rules.v4.1700000000'), '-A POSTROUTING -s 10.10.0.2 -p udp -j SNAT --to-source 192.0.2.1:65408-65535\n');
      writeFileSync(join(dir, 'connections.log'), '2023-11-14T22:00:00Z vpn vpn-user-portal: CONNECT alice (employees:c1) [198.51.100.7 => 10.10.0.2,fd00::2]\n');
      const r = await run('trace', '--archive-dir', dir, '--time', '1700000100', '--public-ip', '192.0.2.1', '--port', '65500', '--proto', 'udp',
        '--connection-log', join(dir, 'connections.log'));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('found: 10.10.0.2');
      expect(r.stdout).toContain('user: alice (profile employees, connection c1');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
