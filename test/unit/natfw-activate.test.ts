import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, lstatSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocate } from '../../src/natfw/allocate.js';
import { parseIpv4, parseIpv4Network } from '../../src/natfw/ipv4.js';
import { buildManifest, type ManifestParams, type Manifest } from '../../src/natfw/manifest.js';
import { renderNft } from '../../src/natfw/render.js';
import { activate, applyCurrent, movedHosts, hostsToCidrs, ActivationError, type ActivationRequest, type ShellRunner } from '../../src/natfw/activate.js';

const params: ManifestParams = {
  networks: [], gatewaySkip: 1, portRange: '1024-65535', exclude: ['32768-60999'], excludeSource: 'explicit',
  align: 'none', blockSize: null, minBlock: 8, compat: null, outIface: 'eth0', format: 'nft',
};

function build(nets: string[]): { manifest: Manifest; rules: string } {
  const allocation = allocate({
    networks: nets.map((n) => parseIpv4Network(n)), gatewaySkip: 1, publics: [parseIpv4('192.0.2.1')!],
    portRange: { lo: 1024, hi: 65535 }, exclusions: [{ lo: 32768, hi: 60999 }], align: 'none', minBlock: 8, compat: false,
  });
  const rules = renderNft({ blocks: allocation.blocks(), outIface: 'eth0', summary: nets.join(' ') });
  return { manifest: buildManifest(allocation, { ...params, networks: nets }, rules, 'changed', new Date(0)), rules };
}

/** Records every command; a command matching `fail` exits 1. */
function fakeShell(fail?: RegExp): ShellRunner & { commands: string[] } {
  const commands: string[] = [];
  const shell = (async (command: string) => {
    commands.push(command);
    return fail?.test(command) ? { code: 1, output: 'boom' } : { code: 0, output: '' };
  }) as ShellRunner & { commands: string[] };
  shell.commands = commands;
  return shell;
}

describe('activation protocol', () => {
  let dir: string;
  let clock: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natfw-activate-'));
    clock = 1_700_000_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function request(nets: string[], shell: ShellRunner, extra: Partial<ActivationRequest> = {}): ActivationRequest {
    const { manifest, rules } = build(nets);
    return {
      archiveDir: dir, manifest, rules, format: 'nft', reloadCommand: 'load {}', validateCommand: 'check {}',
      conntrackFlush: 'changed', conntrackCommand: 'conntrack', shell, now: () => clock, ...extra,
    };
  }

  it('validates, reloads, then archives the manifest with its rules and points current at it', async () => {
    const shell = fakeShell();
    const result = await activate(request(['10.0.0.0/24'], shell));
    expect(result.status).toBe('activated');
    expect(shell.commands[0]).toMatch(/^check '.*rules\.nft'$/);
    expect(shell.commands[1]).toBe(`load '${join(dir, 'pending.nft')}'`);
    const manifest = JSON.parse(readFileSync(join(dir, 'natfw-1700000000000.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ state: 'active', activatedAt: '2023-11-14T22:13:20.000Z', rulesFile: 'natfw-1700000000000.nft', conntrackFlushed: true });
    expect(readFileSync(join(dir, 'natfw-1700000000000.nft'), 'utf8')).toContain('10.0.0.2 : 192.0.2.1');
    expect(readlinkSync(join(dir, 'current'))).toBe('natfw-1700000000000.json');
    expect(readdirSync(dir).filter((n) => n.startsWith('pending') || n.includes('tmp') || n === '.lock')).toEqual([]);
  });

  it('runs nothing and prints unchanged when the content hash is the same', async () => {
    await activate(request(['10.0.0.0/24'], fakeShell()));
    const shell = fakeShell();
    clock += 60_000;
    expect((await activate(request(['10.0.0.0/24'], shell))).status).toBe('unchanged');
    expect(shell.commands).toEqual([]);
  });

  it('a failed validation exits 4 and writes nothing', async () => {
    const shell = fakeShell(/^check/);
    await expect(activate(request(['10.0.0.0/24'], shell))).rejects.toMatchObject({ exitCode: 4 });
    expect(readdirSync(dir)).toEqual([]);
    expect(shell.commands.some((c) => c.startsWith('load'))).toBe(false);
  });

  it('a failed reload exits 5, archives nothing, keeps current, leaves no pending file and reloads the previous rules', async () => {
    await activate(request(['10.0.0.0/24'], fakeShell()));
    const before = readdirSync(dir).sort();
    const shell = fakeShell(/pending/);
    clock += 60_000;
    const failure = await activate(request(['10.0.0.0/23'], shell)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ActivationError);
    expect((failure as ActivationError).exitCode).toBe(5);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readlinkSync(join(dir, 'current'))).toBe('natfw-1700000000000.json');
    expect(shell.commands.at(-1)).toBe(`load '${join(dir, 'natfw-1700000000000.nft')}'`);
  });

  it('flushes conntrack only for the hosts that moved, as CIDRs', async () => {
    await activate(request(['10.0.0.0/25'], fakeShell()));
    const shell = fakeShell();
    clock += 1000;
    const result = await activate(request(['10.0.0.0/25', '10.0.0.128/26'], shell));
    // adding hosts shrinks every block: every old host moved, plus the new ones
    expect(result.status === 'activated' && result.flushedHosts).toBe(125 + 61);
    const flushes = shell.commands.filter((c) => c.startsWith('conntrack'));
    expect(flushes).toContain('conntrack -D -f ipv4 -s 10.0.0.32 --mask-src 255.255.255.224');
    expect(flushes.length).toBeLessThan(25);
    expect(flushes.join(' ')).not.toContain('10.0.0.1 ');
  });

  it('keeps activatedAt strictly increasing even when the clock steps back', async () => {
    await activate(request(['10.0.0.0/25'], fakeShell()));
    clock -= 3_600_000;
    const result = await activate(request(['10.0.0.0/24'], fakeShell()));
    expect(result.status === 'activated' && result.activatedAtMs).toBe(1_700_000_000_001);
  });

  it('a run holding the lock makes another exit 6; a lock left by a dead process is taken over', async () => {
    writeFileSync(join(dir, '.lock'), `${process.pid}\n`);
    await expect(activate(request(['10.0.0.0/24'], fakeShell()))).rejects.toMatchObject({ exitCode: 6 });
    writeFileSync(join(dir, '.lock'), '2147483646\n');
    expect((await activate(request(['10.0.0.0/24'], fakeShell()))).status).toBe('activated');
  });

  it('keeps a pending manifest left by a crashed run as an orphan that trace can read', async () => {
    const { manifest } = build(['10.0.0.0/24']);
    writeFileSync(join(dir, 'pending.json'), JSON.stringify({ ...manifest, pendingSince: '2023-11-14T00:00:00.000Z' }));
    await activate(request(['10.0.0.0/24'], fakeShell()));
    expect(existsSync(join(dir, 'natfw-pending-1699920000000.json'))).toBe(true);
    expect(existsSync(join(dir, 'pending.json'))).toBe(false);
  });

  it('refuses to replace a regular rules.v4 without --force, and moves it aside with it', async () => {
    const link = join(dir, 'rules.v4');
    writeFileSync(link, 'old firewall');
    const compatLink = { path: link, force: false, rules: '*nat\nCOMMIT\n' };
    await expect(activate(request(['10.0.0.0/24'], fakeShell(), { compatLink }))).rejects.toMatchObject({ exitCode: 2 });
    expect(existsSync(join(dir, 'current'))).toBe(false);
    await activate(request(['10.0.0.0/24'], fakeShell(), { compatLink: { ...compatLink, force: true } }));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(link, 'utf8')).toBe('*nat\nCOMMIT\n');
    expect(readFileSync(`${link}.pre-natfw.1700000000`, 'utf8')).toBe('old firewall');
  });

  it('apply loads the current rules again (boot), and does nothing without an allocation', async () => {
    const shell = fakeShell();
    expect((await applyCurrent({ archiveDir: dir, reloadCommand: null, shell })).status).toBe('nothing');
    await activate(request(['10.0.0.0/24'], fakeShell()));
    expect(await applyCurrent({ archiveDir: dir, reloadCommand: null, shell })).toMatchObject({ status: 'applied' });
    expect(shell.commands).toEqual([`nft -f '${join(dir, 'natfw-1700000000000.nft')}'`]);
  });
});

describe('moved hosts', () => {
  it('are the hosts whose block changed or that appear on one side only', () => {
    const a = [{ internal: '10.0.0.2', public: 'p', lo: 1, hi: 2 }, { internal: '10.0.0.3', public: 'p', lo: 3, hi: 4 }];
    const b = [{ internal: '10.0.0.2', public: 'p', lo: 1, hi: 2 }, { internal: '10.0.0.4', public: 'p', lo: 3, hi: 4 }];
    expect(movedHosts(a, b, 'changed').map((h) => h & 255)).toEqual([3, 4]);
    expect(movedHosts(a, b, 'all').map((h) => h & 255)).toEqual([2, 3, 4]);
    expect(movedHosts(a, b, 'none')).toEqual([]);
    expect(hostsToCidrs([parseIpv4('10.0.0.4')!, parseIpv4('10.0.0.5')!, parseIpv4('10.0.0.7')!])).toEqual(['10.0.0.4/31', '10.0.0.7/32']);
  });
});
