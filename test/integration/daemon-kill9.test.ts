import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOk } from '../helpers/cli.js';
import { GEN_CORPUS, REMOTE } from '../helpers/journal-fixtures.js';
import { endAfterAll, sleep, type Daemon } from '../helpers/processes.js';
import { nftElements } from './netns.js';

// kill -9 of `peruse run` right after it wrote its checkpoint, on a real journal (gen-corpus →
// systemd-journal-remote), with real nft in a namespace made slow (0.3 s a call) so bans wait in
// the queue while the checkpoint moves on. After every kill the daemon is started again; at the
// end the firewall and the ban store must hold exactly the corpus's ground truth.
const BENCH_CONFIG = '/work/shared/corpus/bench-config.json';
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';

const { netns, startDaemon, tempDir } = endAfterAll();

/** The journalctl children of a killed daemon would linger until their next write. */
function killChildrenOf(pid: number | undefined): void {
  if (pid === undefined) return;
  let text = '';
  try { text = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString(); } catch { return; }
  for (const line of text.split('\n').filter((l) => l.trim())) {
    try { process.kill(Number(line.trim()), 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Identity of the checkpoint file: every save renames a new inode in. */
function checkpointIdentity(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/** Waits for `count` new checkpoint writes, polling the file every millisecond or so. */
async function waitForCheckpointWrites(file: string, count: number, run: Daemon, timeoutMs = 60_000): Promise<number> {
  let last = checkpointIdentity(file);
  let seen = 0;
  const deadline = Date.now() + timeoutMs;
  while (seen < count) {
    if (Date.now() > deadline || run.child.exitCode !== null) return seen;
    await new Promise((r) => setImmediate(r));
    const now = checkpointIdentity(file);
    if (now !== undefined && now !== last) { seen++; last = now; }
  }
  return seen;
}

const savedCursor = (file: string) => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { cursor?: string }).cursor : undefined);

describe('kill -9 of peruse run right after a checkpoint write', () => {
  it('never loses a ban: after kills following checkpoint writes and a run to the end, nft and the store hold exactly the ground truth', async () => {
    const ns = netns('kill9');
    ns.run(['nft', '-f', '-'], TABLES);
    const dir = tempDir('peruse-kill9-');
    const journal = path.join(dir, 'journal');
    mkdirSync(journal);
    // recent event times: the bans (86 400 s) still hold when the daemon applies them
    const start = Math.floor(Date.now() / 1000) - 3600;
    const corpus = path.join(dir, 'corpus.export');
    const truthFile = path.join(dir, 'truth.json');
    await runOk('node', [GEN_CORPUS, '--entries', '200000', '--attackers', '4000', '--hours', '0.5', '--start', String(start),
      '--seed', '3', '--format', 'export', '--out', corpus, '--truth', truthFile]);
    await runOk(REMOTE, ['-o', path.join(journal, 'remote.journal'), corpus]);
    const lastCursor = execFileSync('journalctl', ['--directory', journal, '--merge', '-n', '1', '-o', 'export', '--output-fields=__CURSOR'])
      .toString().match(/^__CURSOR=(.*)$/m)![1];
    const expected = (JSON.parse(readFileSync(truthFile, 'utf8')) as { expectedBans: string[] }).expectedBans;
    expect(expected.length).toBeGreaterThan(2000);

    const slowNft = path.join(dir, 'slow-nft.sh');
    writeFileSync(slowNft, `#!/bin/sh\nsleep 0.3\nexec ip netns exec ${ns.name} nft "$@"\n`, { mode: 0o755 });
    const config = JSON.parse(readFileSync(BENCH_CONFIG, 'utf8')) as Record<string, unknown>;
    Object.assign(config, {
      storage: path.join(dir, 'storage'),
      journal: { directory: journal, since: `@${start - 60}` },
      nftBan: { nft: [slowNft], maxBatch: 100 },
    });
    const configFile = path.join(dir, 'peruse.json');
    writeFileSync(configFile, JSON.stringify(config));
    const checkpoint = path.join(dir, 'storage', 'peruse.state.json');

    // three runs killed right after their 2nd, 3rd and 2nd checkpoint write
    let kills = 0;
    for (const writes of [2, 3, 2]) {
      const run = startDaemon(configFile, dir);
      const seen = await waitForCheckpointWrites(checkpoint, writes, run);
      if (savedCursor(checkpoint) === lastCursor || seen < writes) {
        run.child.kill('SIGKILL');
        killChildrenOf(run.child.pid);
        await run.exited;
        break;
      }
      run.child.kill('SIGKILL');
      killChildrenOf(run.child.pid);
      await run.exited;
      kills++;
    }
    // at least one kill right after a checkpoint write while bans were queued (a loaded machine may
    // reach the journal's end before the later ones)
    expect(kills).toBeGreaterThanOrEqual(1);

    const last = startDaemon(configFile, dir);
    const deadline = Date.now() + 200_000;
    // its start (restore, firewall set-up through the slow nft) is over before it is asked to stop
    while (!last.stderr().includes('following the journal') && Date.now() < deadline) await sleep(200);
    while (savedCursor(checkpoint) !== lastCursor && Date.now() < deadline) await sleep(200);
    expect(savedCursor(checkpoint)).toBe(lastCursor);
    const banned = () => new Set([...nftElements(ns, 'ip Inet4 ssh_ban').keys(), ...nftElements(ns, 'ip6 Inet6 ssh_ban').keys()]);
    // the queue settles: every stored ban reaches nft
    while (banned().size < expected.length && Date.now() < deadline) await sleep(300);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    expect([...banned()].sort()).toEqual([...expected].sort());
    const store = JSON.parse(readFileSync(path.join(dir, 'storage', 'bans-nft.json'), 'utf8')) as { bans: { ip: string }[] };
    expect(store.bans.map((b) => b.ip).sort()).toEqual([...expected].sort());
  }, 320_000);
});
