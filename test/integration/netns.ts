// A network namespace per test file, so real nft and ipset run without touching the host's firewall.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetNs {
  readonly name: string;
  /** Prefix for a command that must run inside the namespace: ["ip", "netns", "exec", NAME]. */
  readonly prefix: readonly string[];
  /** Runs argv inside the namespace; throws with stderr on failure. */
  run(argv: readonly string[], input?: string): string;
  /** Deletes the namespace (and with it every table and set in it). */
  remove(): void;
}

/** Creates a namespace with a unique name (`ip netns add`); call remove() in afterAll. */
export function createNetNs(tag: string): NetNs {
  const name = `peruse-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  const prefix = ['ip', 'netns', 'exec', name] as const;
  return {
    name,
    prefix,
    run(argv, input) {
      const result = spawnSync(prefix[0], [...prefix.slice(1), ...argv], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
      if (result.status !== 0) throw new Error(`${argv.join(' ')} (in ${name}) failed: ${result.stderr || result.error?.message}`);
      return result.stdout;
    },
    remove() {
      spawnSync('ip', ['netns', 'delete', name]);
    },
  };
}

/** Elements of an nft set as [address, timeout seconds | undefined], from `nft -j list set`. */
export function nftElements(ns: NetNs, set: string): Map<string, number | undefined> {
  const json = JSON.parse(ns.run(['nft', '-j', 'list', 'set', ...set.split(' ')])) as { nftables: Record<string, unknown>[] };
  const out = new Map<string, number | undefined>();
  for (const item of json.nftables) {
    const elems = (item.set as { elem?: unknown[] } | undefined)?.elem ?? [];
    for (const e of elems) {
      if (typeof e === 'string') { out.set(e, undefined); continue; }
      const inner = (e as { elem?: { val: unknown; timeout?: number } }).elem;
      const val = inner ? inner.val : e;
      const text = typeof val === 'string' ? val : `${(val as { prefix: { addr: string; len: number } }).prefix.addr}/${(val as { prefix: { addr: string; len: number } }).prefix.len}`;
      out.set(text, inner?.timeout);
    }
  }
  return out;
}

/** Members of an ipset as address → timeout seconds (undefined without timeout). */
export function ipsetMembers(ns: NetNs, set: string): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  const text = ns.run(['ipset', 'list', set]);
  const members = text.slice(text.indexOf('Members:') + 'Members:'.length).trim();
  for (const line of members ? members.split('\n') : []) {
    const [address, word, value] = line.trim().split(/\s+/);
    out.set(address!, word === 'timeout' ? Number(value) : undefined);
  }
  return out;
}
