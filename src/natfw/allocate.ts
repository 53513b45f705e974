// Deterministic SNAT port-block allocation (RFC 7422 "sequential" assignment).
// A pure function of its request: the same inputs always give the same blocks, which is what
// makes an archived allocation a trustworthy answer to "who had port P at time T".
import {
  NatfwInputError, formatIpv4, isPrivateNetwork, networksOverlap, usableHostRange, type Ipv4Network,
} from './ipv4.js';
import { poolSegments, type PortRange } from './ports.js';

export type Alignment = 'none' | 'pow2';

export interface AllocationRequest {
  /** Client networks, in input order (the order only matters in compat mode). */
  networks: readonly Ipv4Network[];
  /** Hosts skipped at the start of each network (the server's own tunnel address). */
  gatewaySkip: number;
  publics: readonly number[];
  portRange: PortRange;
  exclusions: readonly PortRange[];
  align: Alignment;
  /** A fixed block size instead of the largest feasible one. */
  blockSize?: number;
  minBlock: number;
  /** Reproduce the eduVPN `vpn-generate-natfw` blocks bit for bit. */
  compat: boolean;
}

export interface Block {
  internal: string;
  public: string;
  lo: number;
  hi: number;
}

/** Thrown when the hosts do not fit in the pool with blocks of at least min-block ports (exit 3). */
export class AllocationInfeasibleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllocationInfeasibleError';
  }
}

/** The old script's fixed pool: it never excluded anything. */
export const COMPAT_PORT_RANGE: PortRange = { lo: 1280, hi: 65535 };

export class Allocation {
  readonly hostCount: number;
  /** Start slot of each segment within one public IP's slot sequence. */
  private readonly segmentFirstSlot: number[] = [];
  private readonly segmentSlotCount: number[] = [];

  constructor(
    /** Hosts in slot order: host i gets public floor(i / perPublic), slot i mod perPublic. */
    readonly hosts: Uint32Array,
    /** Sorted numerically (compat: as given). */
    readonly publics: readonly number[],
    readonly perPublic: number,
    readonly blockSize: number,
    /** Pool segments, descending upper bound. */
    readonly segments: readonly PortRange[],
  ) {
    this.hostCount = hosts.length;
    let first = 0;
    for (const segment of segments) {
      const count = Math.floor((segment.hi - segment.lo + 1) / blockSize);
      this.segmentFirstSlot.push(first);
      this.segmentSlotCount.push(count);
      first += count;
    }
  }

  /** Block of host i (slot-order index). */
  blockOf(hostIndex: number): { publicIndex: number; lo: number; hi: number } {
    const publicIndex = Math.floor(hostIndex / this.perPublic);
    const slot = hostIndex % this.perPublic;
    for (let s = 0; s < this.segments.length; s++) {
      const offset = slot - this.segmentFirstSlot[s]!;
      if (offset < this.segmentSlotCount[s]!) {
        const hi = this.segments[s]!.hi - offset * this.blockSize;
        return { publicIndex, lo: hi - this.blockSize + 1, hi };
      }
    }
    throw new Error(`slot ${slot} is outside the pool (allocation invariant broken)`);
  }

  /**
   * The inverse, by arithmetic: which host index owns `port` on public number `publicIndex`,
   * or -1. Constant time in the number of hosts (a scan over the few pool segments only).
   */
  hostIndexOf(publicIndex: number, port: number): number {
    if (publicIndex < 0 || publicIndex >= this.publics.length) return -1;
    for (let s = 0; s < this.segments.length; s++) {
      const segment = this.segments[s]!;
      if (port < segment.lo || port > segment.hi) continue;
      const offset = Math.floor((segment.hi - port) / this.blockSize);
      if (offset >= this.segmentSlotCount[s]!) return -1; // the leftover below the last block
      const slot = this.segmentFirstSlot[s]! + offset;
      if (slot >= this.perPublic) return -1;
      const hostIndex = publicIndex * this.perPublic + slot;
      return hostIndex < this.hostCount ? hostIndex : -1;
    }
    return -1;
  }

  blocks(): Block[] {
    const out: Block[] = [];
    for (let i = 0; i < this.hostCount; i++) {
      const { publicIndex, lo, hi } = this.blockOf(i);
      out.push({ internal: formatIpv4(this.hosts[i]!), public: formatIpv4(this.publics[publicIndex]!), lo, hi });
    }
    return out;
  }
}

/** Validates the client networks: private (by CIDR containment), not overlapping. */
export function checkNetworks(networks: readonly Ipv4Network[]): void {
  if (networks.length === 0) throw new NatfwInputError('no client network given (--network or --eduvpn)');
  for (const network of networks) {
    if (!isPrivateNetwork(network)) {
      throw new NatfwInputError(`${network.text} is not inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`);
    }
  }
  for (let i = 0; i < networks.length; i++) {
    for (let j = i + 1; j < networks.length; j++) {
      if (networksOverlap(networks[i]!, networks[j]!)) throw new NatfwInputError(`networks ${networks[i]!.text} and ${networks[j]!.text} overlap`);
    }
  }
}

/** Usable hosts of every network minus the first `gatewaySkip` of each; sorted unless compat keeps input order. */
export function collectHosts(networks: readonly Ipv4Network[], gatewaySkip: number, keepInputOrder: boolean): Uint32Array {
  const ranges = networks.map((network) => usableHostRange(network));
  const total = ranges.reduce((sum, { first, last }) => sum + Math.max(0, last - first + 1 - gatewaySkip), 0);
  const hosts = new Uint32Array(total);
  let n = 0;
  const order = keepInputOrder ? ranges : [...ranges].sort((a, b) => a.first - b.first);
  // networks do not overlap, so sorting the networks sorts every host
  for (const { first, last } of order) {
    for (let host = first + gatewaySkip; host <= last; host++) hosts[n++] = host;
  }
  return hosts;
}

function slotsForBlock(segments: readonly PortRange[], block: number): number {
  let slots = 0;
  for (const segment of segments) slots += Math.floor((segment.hi - segment.lo + 1) / block);
  return slots;
}

/** The largest b with Σ floor(len_s / b) ≥ needed (0 if even b = 1 does not fit). The sum only falls as b grows. */
export function largestFeasibleBlock(segments: readonly PortRange[], needed: number): number {
  let lo = 0;
  let hi = Math.max(0, ...segments.map((s) => s.hi - s.lo + 1));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (slotsForBlock(segments, mid) >= needed) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function largestPowerOfTwoAtMost(n: number): number {
  if (n < 1) return 0;
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * The eduVPN script's block size: the largest power of two strictly below floor(64255 / N),
 * so an exact power halves. Reproduced only so that compat allocations match old archives.
 */
export function eduvpnCompatBlockSize(hostsPerPublic: number): number {
  const portsPerClient = Math.floor((COMPAT_PORT_RANGE.hi - COMPAT_PORT_RANGE.lo) / hostsPerPublic);
  let candidate = 1;
  while (portsPerClient > candidate) candidate *= 2;
  return Math.floor(candidate / 2);
}

export function allocate(request: AllocationRequest): Allocation {
  checkNetworks(request.networks);
  if (request.publics.length === 0) throw new NatfwInputError('no public address given (--public)');
  if (new Set(request.publics).size !== request.publics.length) throw new NatfwInputError('a public address is given twice');
  if (!Number.isInteger(request.gatewaySkip) || request.gatewaySkip < 0) throw new NatfwInputError('--gateway-skip must be an integer ≥ 0');
  if (!Number.isInteger(request.minBlock) || request.minBlock < 1) throw new NatfwInputError('--min-block must be an integer ≥ 1');
  const hosts = collectHosts(request.networks, request.gatewaySkip, request.compat);
  if (hosts.length === 0) throw new NatfwInputError('the networks have no host left after --gateway-skip');
  const publics = request.compat ? [...request.publics] : [...request.publics].sort((a, b) => a - b);
  const perPublic = Math.ceil(hosts.length / publics.length);

  let segments: PortRange[];
  let blockSize: number;
  if (request.compat) {
    segments = [COMPAT_PORT_RANGE];
    blockSize = eduvpnCompatBlockSize(perPublic);
  } else {
    segments = poolSegments(request.portRange, request.exclusions);
    if (request.blockSize !== undefined) {
      if (!Number.isInteger(request.blockSize) || request.blockSize < 1) throw new NatfwInputError('--block-size must be an integer ≥ 1');
      if (request.align === 'pow2' && largestPowerOfTwoAtMost(request.blockSize) !== request.blockSize) {
        throw new NatfwInputError(`--block-size ${request.blockSize} is not a power of two but --align pow2 was asked`);
      }
      blockSize = request.blockSize;
      if (slotsForBlock(segments, blockSize) < perPublic) {
        throw new AllocationInfeasibleError(`allocation infeasible: ${perPublic} blocks of ${blockSize} ports per public address do not fit in the pool`);
      }
    } else {
      blockSize = largestFeasibleBlock(segments, perPublic);
      if (request.align === 'pow2') blockSize = largestPowerOfTwoAtMost(blockSize);
    }
  }
  if (blockSize < request.minBlock) {
    throw new AllocationInfeasibleError(
      `allocation infeasible: ${hosts.length} hosts on ${publics.length} public address(es) leave ${blockSize} ports per host, below --min-block ${request.minBlock}`,
    );
  }
  return new Allocation(hosts, publics, perPublic, blockSize, segments);
}
