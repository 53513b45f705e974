// After a change, connections of moved hosts would keep their old ports (a reload does not
// touch established conntrack entries): flush exactly those, so a trace cannot name the wrong user.
import type { Block } from './allocate.js';
import type { ShellRunner } from './commands.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import type { ConntrackFlush } from './manifest.js';
import { rangeToCidrs } from './render.js';

/** Hosts whose mapping differs between two allocations (or that appear in only one): their connections must be flushed. */
export function movedHosts(previous: readonly Block[] | undefined, next: readonly Block[], mode: ConntrackFlush): number[] {
  if (mode === 'none') return [];
  const key = (b: Block): string => `${b.public}:${b.lo}-${b.hi}`;
  const before = new Map((previous ?? []).map((b) => [b.internal, key(b)]));
  const moved = new Set<string>();
  for (const b of next) if (mode === 'all' || !previous || before.get(b.internal) !== key(b)) moved.add(b.internal);
  const nextHosts = new Set(next.map((b) => b.internal));
  for (const internal of before.keys()) if (mode === 'all' || !nextHosts.has(internal)) moved.add(internal);
  return [...moved].map((text) => parseIpv4(text)!).sort((a, b) => a - b);
}

/** Consecutive hosts → CIDRs, so a /16 of moved hosts is one `conntrack -D`, not 65 000. */
export function hostsToCidrs(hosts: readonly number[]): string[] {
  const cidrs: string[] = [];
  let i = 0;
  while (i < hosts.length) {
    let j = i;
    while (j + 1 < hosts.length && hosts[j + 1] === hosts[j]! + 1) j++;
    cidrs.push(...rangeToCidrs(hosts[i]!, hosts[j]!));
    i = j + 1;
  }
  return cidrs;
}

function prefixMask(prefix: number): string {
  return formatIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export async function flushConntrack(conntrackCommand: string, shell: ShellRunner, hosts: readonly number[], warnings: string[]): Promise<boolean> {
  let ok = true;
  for (const cidr of hostsToCidrs(hosts)) {
    const [address, prefix] = cidr.split('/') as [string, string];
    const command = `${conntrackCommand} -D -f ipv4 -s ${address} --mask-src ${prefixMask(Number(prefix))}`;
    const result = await shell(command, {});
    // conntrack exits 1 when nothing matched: that is a successful flush too
    if (result.code !== 0 && !/0 flow entries have been deleted/.test(result.output)) {
      ok = false;
      warnings.push(`conntrack flush failed for ${cidr}: ${result.output.trim()}`);
    }
  }
  return ok;
}
