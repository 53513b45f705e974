import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, nftElements, type NetNs } from './netns.js';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';
const PROXY = '10.0.0.1';
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';

interface Outcome { banned: Map<string, number | undefined>; expected: string[]; status: number | null; stderr: string }

/** Runs a command without blocking the test worker (the two corpora replay side by side). */
function run(argv: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, maxBuffer: 1 << 28 }, (error, _stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }));
  });
}

/** Generates a corpus, replays it for real through bench-config.json with nft inside `ns`, reads the sets back. */
async function replayCorpus(ns: NetNs, name: string, shape: string[]): Promise<Outcome> {
  const dir = mkdtempSync(path.join(tmpdir(), `peruse-corpus-${name}-`));
  execFileSync('node', [generator, ...shape, '--seed', '1', '--format', 'json', '--out', path.join(dir, 'corpus.jsonl'), '--truth', path.join(dir, 'truth.json')]);
  const config = JSON.parse(readFileSync(benchConfig, 'utf8')) as Record<string, unknown>;
  config.nftBan = { nft: [...ns.prefix, 'nft'] };
  config.storage = path.join(dir, 'storage');
  writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify(config));
  ns.run(['nft', '-f', '-'], TABLES);
  const replay = await run(['node', peruse, 'replay', '--config', path.join(dir, 'peruse.json'), '--input', path.join(dir, 'corpus.jsonl')], dir);
  const banned = new Map([...nftElements(ns, 'ip Inet4 ssh_ban'), ...nftElements(ns, 'ip6 Inet6 ssh_ban')]);
  const expected = (JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8')) as { expectedBans: string[] }).expectedBans;
  return { banned, expected, status: replay.status, stderr: replay.stderr };
}

describe('replay of gen-corpus corpora through bench-config.json bans exactly the truth', () => {
  const namespaces: NetNs[] = [];
  let daily: Outcome;
  let attack: Outcome;

  beforeAll(async () => {
    const [dailyNs, attackNs] = [createNetNs('corpus-daily'), createNetNs('corpus-attack')];
    namespaces.push(dailyNs, attackNs);
    // the attack corpus makes ~18 600 ban actions: merged into a few hundred nft commands, seconds
    // (one nft process per ban took over 15 minutes here)
    [daily, attack] = await Promise.all([
      replayCorpus(dailyNs, 'daily', ['--entries', '20000']),
      replayCorpus(attackNs, 'attack', ['--entries', '20000', '--hours', '0.25', '--attackers', '8000']),
    ]);
  }, 180_000);
  afterAll(() => { for (const ns of namespaces) ns.remove(); });

  it('a default corpus (20 000 entries over 24 h) leaves exactly expectedBans in the nft sets', () => {
    expect(daily.status, daily.stderr).toBe(0);
    expect(daily.expected.length).toBeGreaterThan(0);
    expect([...daily.banned.keys()].sort()).toEqual([...daily.expected].sort());
  });

  it('every corpus ban carries the 86 400 s timeout of the config (replay clock = entry time)', () => {
    expect(new Set(daily.banned.values())).toEqual(new Set([86400]));
  });

  it('a dense attack (8 000 attackers in 15 minutes) leaves exactly expectedBans', () => {
    expect(attack.status, attack.stderr).toBe(0);
    expect(attack.expected.length).toBeGreaterThan(100);
    expect([...attack.banned.keys()].sort()).toEqual([...attack.expected].sort());
  });

  it('never bans the DNAT proxy 10.0.0.1', () => {
    expect(daily.banned.has(PROXY)).toBe(false);
    expect(attack.banned.has(PROXY)).toBe(false);
  });
});
