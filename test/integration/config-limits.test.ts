import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetNs, nftElements, type NetNs } from './netns.js';

// Configs that used to crash `check` or `run` (a stack trace, exit 1) or to slip through it: each is
// now refused with FILE:LINE:COL  PATH  CODE  message and exit 78, or run safely. Real CLI throughout.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync)!;

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(tmpdir(), 'peruse-config-limits-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, config: object | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 1));
  return file;
}

function peruse(args: string[], input?: string) {
  return spawnSync('node', [PERUSE, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 28, timeout: 120_000 });
}

/** The line and column where `needle` starts in `text`, 1-based. */
function lineColumnOf(text: string, needle: string): string {
  const offset = text.indexOf(needle);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

describe('a pattern only the backtracking engine runs', () => {
  it('is refused by check with E_REDOS, its position and an attack string when some line makes it backtrack exponentially', () => {
    const file = writeConfig('redos.json', { actions: { Evil: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^(a|a)*\\1$' } },
      { action: 'action_noop' },
    ] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    const at = lineColumnOf(readFileSync(file, 'utf8'), '"re"');
    expect(result.stderr).toContain(`${file}:${at}  actions["Evil"][0].args.re  E_REDOS  catastrophic backtracking`);
    expect(result.stderr).toMatch(/a line like 'a'\.repeat\(\d+\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('is refused inside a filter_pcreAny list too, at its index', () => {
    const file = writeConfig('redos-any.json', { actions: { Any: [
      { filter: 'filter_pcreAny', args: { field: 'MESSAGE', re: ['^fine$', '^(x+x+)+\\1y'] } },
    ] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('actions["Any"][0].args.re[1]  E_REDOS');
  });

  it('is still accepted when it only needs a backreference, with the fallback warning', () => {
    const file = writeConfig('backreference.json', { actions: { Echo: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^(\\w+) said \\1$' } },
      { action: 'action_noop' },
    ] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('actions["Echo"][0].args.re  W_REGEX_FALLBACK  RE2 cannot compile this pattern');
    expect(result.stderr).not.toContain('E_REDOS');
  });

  it('`run` refuses it too, before starting anything', () => {
    const file = writeConfig('redos-run.json', { storage: path.join(dir, 'redos-storage'), actions: { Evil: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '(?<=x)(a|a)*\\1$' } },
    ] } });
    const result = peruse(['run', '--config', file]);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('E_REDOS');
    expect(existsSync(path.join(dir, 'redos-storage', 'peruse.state.json'))).toBe(false);
  });
});

describe('deep configs', () => {
  it('JSON nested 100 000 deep is refused by check and run with E_JSON at the first bracket too deep, not a RangeError', () => {
    const prefix = '{"actions":{"A":[{"action":"action_noop","args":{"x":';
    const file = writeConfig('deep.json', `${prefix}${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}}`);
    for (const command of [['check', file], ['run', '--config', file]]) {
      const result = peruse(command);
      expect(result.status).toBe(78);
      // 5 levels above the array: its 251st bracket reaches depth 256, the next one is refused
      expect(result.stderr).toContain(`${file}:1:${prefix.length + 252}  (root)  E_JSON  invalid JSON: nested deeper than 256 levels`);
      expect(result.stderr).not.toContain('RangeError');
    }
  });

  const jumps = 2000;
  const chained = (closeLoop: boolean) => {
    const actions: Record<string, object[]> = {};
    for (let i = 0; i < jumps; i++) {
      actions[`c${i}`] = i < jumps - 1 || closeLoop
        ? [{ filter: 'filter_equals', args: { field: 'HOP', value: 'yes' }, then: `c${(i + 1) % jumps}` }]
        : [{ action: 'action_counterRaise', args: { counter: 'reached', for: 'HOP', save: 'reached' } }];
    }
    return { storage: path.join(dir, 'jumps-storage'), actions };
  };

  it('2 000 chained jumps are checked and an entry runs through every one of them', () => {
    const file = writeConfig('jumps.json', chained(false));
    const check = peruse(['check', file]);
    expect(check.stderr).not.toContain('RangeError');
    expect(check.status).toBe(0);
    expect(check.stdout).toContain(`1 top-level chains, ${jumps} linked steps`);
    const entry = JSON.stringify({ __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1767225600000000', MESSAGE: 'm', HOP: 'yes' });
    const replay = peruse(['replay', '--config', file, '--input', '-', '--dry-run', '--trace'], entry + '\n');
    expect(replay.status, replay.stderr).toBe(0);
    const trace = JSON.parse(replay.stdout.trim()) as { steps: { step: string }[]; fields: Record<string, unknown> };
    expect(trace.steps.length).toBe(jumps);
    expect(trace.steps.at(-1)!.step).toBe(`c${jumps - 1}[0]`);
    expect(trace.fields.reached).toBe(1);
  });

  it('a loop closing 2 000 chained jumps is refused with E_LOOP at the jump that closes it', () => {
    const file = writeConfig('jump-loop.json', chained(true));
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    const text = readFileSync(file, 'utf8');
    const lastThen = text.lastIndexOf('"then"');
    const before = text.slice(0, lastThen).split('\n');
    expect(result.stderr).toContain(`${file}:${before.length}:${before.at(-1)!.length + 1}  actions["c${jumps - 1}"][0].then  E_LOOP  chains jump in a loop: "c0" → "c1" → "c2"`);
    expect(result.stderr.trim().split('\n').filter((l) => l.includes('E_LOOP'))).toHaveLength(1);
  });
});

describe('durations', () => {
  const TEN_YEARS = 315_619_200;
  const banning = (banSeconds: number, keepSeconds: number, graceSeconds: number) => ({ actions: { Ban: [
    { action: 'action_counterRaise', args: { counter: 'c', for: 'IP', keepSeconds } },
    { action: 'action_counterReset', args: { counter: 'c', for: 'IP', graceSeconds } },
    { action: 'action_nftBan', args: { IP: 'IP', nftSetIPv4: 'ip f s4', nftSetIPv6: 'ip6 f s6', banSeconds } },
  ] } });

  it('a ban, keep or grace time above 10 years is refused by check at its argument', () => {
    const file = writeConfig('durations.json', banning(1e308, TEN_YEARS + 1, 1e12));
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(new RegExp(`actions\\["Ban"\\]\\[2\\]\\.args\\.banSeconds  E_BAD_ARGS  must be <= ${TEN_YEARS}`));
    expect(result.stderr).toContain('actions["Ban"][0].args.keepSeconds  E_BAD_ARGS');
    expect(result.stderr).toContain('actions["Ban"][1].args.graceSeconds  E_BAD_ARGS');
  });

  it('exactly 10 years is accepted', () => {
    const result = peruse(['check', writeConfig('ten-years.json', banning(TEN_YEARS, TEN_YEARS, TEN_YEARS))]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  describe('in a real nft set', () => {
    let ns: NetNs;
    beforeAll(() => {
      ns = createNetNs('i19');
      ns.run(['nft', '-f', '-'], 'table ip f { set s4 { type ipv4_addr; flags timeout; }; }\ntable ip6 f { set s6 { type ipv6_addr; flags timeout; }; }\n');
    });
    afterAll(() => ns?.remove());

    it('a 10-year ban reaches the set with its timeout, when banned and when restored', () => {
      const file = writeConfig('ten-year-ban.json', {
        storage: path.join(dir, 'ten-year-storage'), nftBan: { nft: [...ns.prefix, 'nft'] },
        actions: { Ban: [{ action: 'action_nftBan', args: { IP: 'IP', nftSetIPv4: 'ip f s4', nftSetIPv6: 'ip6 f s6', banSeconds: TEN_YEARS } }] },
      });
      const entry = JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.now() * 1000), IP: '203.0.113.9' });
      const replay = peruse(['replay', '--config', file, '--input', '-'], entry + '\n');
      expect(replay.status, replay.stderr).toBe(0);
      const banned = nftElements(ns, 'ip f s4').get('203.0.113.9');
      expect(banned).toBeGreaterThan(TEN_YEARS - 60);
      expect(banned).toBeLessThanOrEqual(TEN_YEARS);
      ns.run(['nft', 'flush', 'set', 'ip', 'f', 's4']);
      const restore = peruse(['bans', 'restore', '--config', file]);
      expect(restore.status, restore.stderr).toBe(0);
      expect(nftElements(ns, 'ip f s4').get('203.0.113.9')).toBeGreaterThan(TEN_YEARS - 120);
    });
  });
});

describe('metrics port', () => {
  it('a port above 65535 is refused by check', () => {
    const file = writeConfig('port.json', { metrics: { port: 99_999 }, actions: { A: [{ action: 'action_noop' }] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('metrics.port  E_SCHEMA  must be <= 65535');
  });

  let holder: Server;
  afterAll(() => holder?.close());

  it('a port already taken is an error in the log and the daemon runs on without metrics', async () => {
    holder = createServer(() => {});
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    const journal = path.join(dir, 'journal');
    mkdirSync(journal);
    const entry = `__REALTIME_TIMESTAMP=1767225600000000\n__MONOTONIC_TIMESTAMP=1000\n_BOOT_ID=c0ffee00c0ffee00c0ffee00c0ffee00\n_HOSTNAME=h\nSYSLOG_IDENTIFIER=sshd\nMESSAGE=hello\n\n`;
    execFileSync(REMOTE, ['-o', path.join(journal, 'remote.journal'), '-'], { input: entry, stdio: ['pipe', 'ignore', 'ignore'] });
    const storage = path.join(dir, 'metrics-storage');
    const file = writeConfig('busy-port.json', {
      storage, metrics: { port }, journal: { directory: journal, since: '2026-01-01 00:00:00 UTC' },
      actions: { A: [{ action: 'action_counterRaise', args: { counter: 'seen', for: 'MESSAGE' } }] },
    });
    const child = spawn('node', [PERUSE, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      const saved = () => existsSync(path.join(storage, 'peruse.state.json'))
        && (JSON.parse(readFileSync(path.join(storage, 'peruse.state.json'), 'utf8')) as { cursor?: string }).cursor !== undefined;
      while (!saved() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(child.exitCode, stderr).toBeNull();
      expect(saved()).toBe(true);
      expect(stderr).toContain(`metrics: cannot listen on 127.0.0.1:${port}`);
      expect(stderr).toContain('running without metrics');
      expect(stderr).not.toMatch(/\n\s+at /);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});

describe('long values in messages', () => {
  it('a 5 MB pattern that does not compile is quoted in 200 characters with its length', () => {
    const pattern = `(${'a'.repeat(5 * 1024 * 1024)}`;
    const file = writeConfig('huge-regex.json', { actions: { A: [{ filter: 'filter_pcre', args: { field: 'MESSAGE', re: pattern } }] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    const line = result.stderr.split('\n').find((l) => l.includes('E_BAD_REGEX'))!;
    expect(line).toContain(`/(${'a'.repeat(199)}… (5 242 881 chars)/: Unterminated group`);
    expect(line.length).toBeLessThan(600);
  });

  it('a 5 MB chain name is cut in the path of the message', () => {
    const name = 'n'.repeat(5 * 1024 * 1024);
    const file = writeConfig('huge-name.json', { actions: { [name]: [{ action: 'action_nope' }] } });
    const result = peruse(['check', file]);
    expect(result.status).toBe(78);
    expect(result.stderr.length).toBeLessThan(1000);
    expect(result.stderr).toContain('… (5 242 880 chars)');
    expect(result.stderr).toContain('E_UNKNOWN_MODULE');
  });
});
