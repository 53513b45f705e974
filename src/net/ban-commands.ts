// The two firewall backends of the ban actions: how a set name is checked, how a ban and an
// unban are spelled, and how every live ban becomes ONE restore transaction. Pure: no IO.

/** One ban to apply: the address (or IPv6 prefix) and its remaining seconds (undefined = permanent). */
export interface BanElement {
  set: string;
  ip: string;
  seconds?: number;
}

export interface BanBackend {
  readonly name: 'nft' | 'ipset';
  /** The action that writes this backend's bans, as configs name it. */
  readonly action: 'action_nftBan' | 'action_ipsetBan';
  /** Config section and key of the command argv. */
  readonly section: 'nftBan' | 'ipsetBan';
  readonly commandKey: 'nft' | 'ipset';
  readonly defaultCommand: readonly string[];
  /** peruse's store file in `storage`. */
  readonly storeFile: string;
  /** Pyruse compat: the file Pyruse kept its bans in, imported on first start. */
  readonly pyruseFile: string;
  /** Why `set` cannot be a set name of this backend, or undefined when it can. */
  checkSet(set: string): string | undefined;
  /** Arguments appended to the configured argv to ban (seconds undefined = permanent). */
  addArgs(set: string, ip: string, seconds: number | undefined): string[];
  deleteArgs(set: string, ip: string): string[];
  /**
   * One command adding several elements to `set` (bans that waited while the firewall was busy).
   * With a single element it is exactly `addArgs`, so a quiet system runs Pyruse's commands.
   */
  addMany(set: string, elements: readonly { ip: string; seconds: number | undefined }[]): BackendCommand;
  /** One command deleting several elements; exactly `deleteArgs` for one. */
  deleteMany(set: string, ips: readonly string[]): BackendCommand;
  /** Arguments and stdin applying every element in one transaction. */
  restore(elements: readonly BanElement[]): { args: string[]; stdin: string };
}

/** Arguments to append to the configured argv, and what to write on stdin. */
export interface BackendCommand { args: string[]; stdin?: string }

const NFT_FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
// nft identifiers; anything else (`;`, braces, quotes, newlines) could change the command's meaning
const NFT_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

export const nftBackend: BanBackend = {
  name: 'nft',
  action: 'action_nftBan',
  section: 'nftBan',
  commandKey: 'nft',
  defaultCommand: ['/usr/sbin/nft'],
  storeFile: 'bans-nft.json',
  pyruseFile: 'action_nftBan.py.json',
  checkSet(set) {
    const words = set.split(' ');
    if (words.length === 3 && !NFT_FAMILIES.has(words[0]!)) return `"${words[0]}" is not an nftables family (ip, ip6, inet …)`;
    const names = words.length === 3 ? words.slice(1) : words;
    if (names.length !== 2 || !names.every((w) => NFT_IDENTIFIER.test(w))) {
      return `"${set}" is not an nftables set path like "ip Inet4 ssh_ban" (FAMILY TABLE SET, single spaces)`;
    }
    return undefined;
  },
  // Pyruse compat: ONE argument holding the whole nft command, so recorder configs
  // (["/bin/sh", "-c", "echo \"$0\" >>nftBan.cmd"]) keep working
  addArgs: (set, ip, seconds) => [`add element ${set} {${nftElement(ip, seconds)}}`],
  deleteArgs: (set, ip) => [`delete element ${set} {${ip}}`],
  // still ONE argument of the same form, the elements comma-separated as nft reads them
  addMany: (set, elements) => ({ args: [`add element ${set} {${elements.map((e) => nftElement(e.ip, e.seconds)).join(', ')}}`] }),
  deleteMany: (set, ips) => ({ args: [`delete element ${set} {${ips.join(', ')}}`] }),
  restore(elements) {
    const bySet = groupBySet(elements);
    const lines: string[] = [];
    for (const [set, group] of bySet) {
      const bare = group.map((e) => e.ip).join(', ');
      const timed = group.map((e) => nftElement(e.ip, e.seconds)).join(', ');
      // `add` of an existing element keeps its old timeout, and `delete` of a missing one fails
      // the transaction: add, delete, add sets every element to exactly the remaining time.
      lines.push(`add element ${set} { ${bare} }`, `delete element ${set} { ${bare} }`, `add element ${set} { ${timed} }`);
    }
    return { args: ['-f', '-'], stdin: lines.join('\n') + '\n' };
  },
};

// ipset refuses timeouts above this many seconds (UINT_MAX/2 ms); the store keeps the real end
// and `bans restore` re-applies the rest later
export const IPSET_MAX_TIMEOUT = 2_147_483;
const IPSET_NAME = /^[A-Za-z0-9_.:-]{1,31}$/;
const ipsetSeconds = (seconds: number) => Math.min(seconds, IPSET_MAX_TIMEOUT);

export const ipsetBackend: BanBackend = {
  name: 'ipset',
  action: 'action_ipsetBan',
  section: 'ipsetBan',
  commandKey: 'ipset',
  defaultCommand: ['/usr/sbin/ipset', '-exist', '-quiet'],
  storeFile: 'bans-ipset.json',
  pyruseFile: 'action_ipsetBan.py.json',
  checkSet: (set) => (IPSET_NAME.test(set) ? undefined : `"${set}" is not an ipset name (up to 31 letters, digits, _ . : -)`),
  addArgs: (set, ip, seconds) => ['add', set, ip, ...(seconds === undefined ? [] : ['timeout', String(ipsetSeconds(seconds))])],
  deleteArgs: (set, ip) => ['del', set, ip],
  addMany: (set, elements) => ipsetCommands(elements.map((e) => ipsetBackend.addArgs(set, e.ip, e.seconds))),
  deleteMany: (set, ips) => ipsetCommands(ips.map((ip) => ipsetBackend.deleteArgs(set, ip))),
  restore(elements) {
    const lines = elements.map((e) => `add ${e.set} ${e.ip}${e.seconds === undefined ? '' : ` timeout ${ipsetSeconds(e.seconds)}`}`);
    // -exist: an element already in the set gets the new timeout instead of failing the restore
    return { args: ['-exist', 'restore'], stdin: lines.join('\n') + '\n' };
  },
};

export const BACKENDS: readonly BanBackend[] = [nftBackend, ipsetBackend];

/** The configured argv of a backend, or its default. */
export function backendCommand(backend: BanBackend, section: Record<string, unknown>): string[] {
  const value = section[backend.commandKey];
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? value : [...backend.defaultCommand];
}

/**
 * Seconds to give the firewall: what is left of the ban at `nowMicros`, never more than
 * banSeconds. Undefined for a permanent ban (`untilMicros` 0); ≤ 0 means expired, apply nothing.
 */
export function remainingSeconds(untilMicros: number, nowMicros: number, banSeconds?: number): number | undefined {
  if (untilMicros === 0) return undefined;
  // rounded up: an entry read a few ms after it was written still gets the full banSeconds (as in Pyruse),
  // and a ban is ≤ 0 only once it has really ended
  const left = Math.ceil((untilMicros - nowMicros) / 1e6);
  return banSeconds === undefined ? left : Math.min(banSeconds, left);
}

/** ipset takes one element per command: one runs as it is, several go through `restore`, a line each. */
function ipsetCommands(commands: string[][]): BackendCommand {
  return commands.length === 1 ? { args: commands[0]! } : { args: ['restore'], stdin: commands.map((c) => c.join(' ')).join('\n') + '\n' };
}

function nftElement(ip: string, seconds: number | undefined): string {
  return seconds === undefined ? ip : `${ip} timeout ${nftTimeout(seconds)}`;
}

/** nft reads at most 99 999 999 in one number ("value too large"): longer bans are given in days. */
const NFT_MAX_NUMBER = 99_999_999;

/** `3600s` as Pyruse writes it; a ban longer than nft reads in seconds (3.2 years) as `3653d0s`. */
export function nftTimeout(seconds: number): string {
  if (seconds <= NFT_MAX_NUMBER) return `${seconds}s`;
  return `${Math.floor(seconds / 86_400)}d${seconds % 86_400}s`;
}

function groupBySet(elements: readonly BanElement[]): Map<string, BanElement[]> {
  const bySet = new Map<string, BanElement[]>();
  for (const e of elements) {
    let group = bySet.get(e.set);
    if (!group) bySet.set(e.set, (group = []));
    group.push(e);
  }
  return bySet;
}
