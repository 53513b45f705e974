import { describe, it, expect } from 'vitest';
import { allocate, AllocationInfeasibleError, eduvpnCompatBlockSize, type AllocationRequest, type Allocation } from '../../src/natfw/allocate.js';
import { parseIpv4, parseIpv4Network, NatfwInputError, formatIpv4 } from '../../src/natfw/ipv4.js';
import { poolSegments, readAutoExclusions, type PortRange } from '../../src/natfw/ports.js';

const PUBLIC = parseIpv4('192.0.2.1')!;

function request(overrides: Partial<AllocationRequest> & { nets?: string[] }): AllocationRequest {
  const { nets = ['192.168.101.0/24'], ...rest } = overrides;
  return {
    networks: nets.map((text) => parseIpv4Network(text)),
    gatewaySkip: 1,
    publics: [PUBLIC],
    portRange: { lo: 1024, hi: 65535 },
    exclusions: [{ lo: 32768, hi: 60999 }],
    align: 'none',
    minBlock: 64,
    compat: false,
    ...rest,
  };
}

function blockByHost(allocation: Allocation): Map<string, string> {
  return new Map(allocation.blocks().map((b) => [b.internal, `${b.lo}-${b.hi}`]));
}

describe('allocation: the worked examples of NATFW.md', () => {
  it('compat on a /24 gives 253 hosts blocks of 128 from 65535 down, like the eduVPN script', () => {
    const allocation = allocate(request({ compat: true }));
    expect(allocation.hostCount).toBe(253);
    expect(allocation.blockSize).toBe(128);
    const blocks = blockByHost(allocation);
    expect(blocks.get('192.168.101.2')).toBe('65408-65535');
    expect(blocks.get('192.168.101.3')).toBe('65280-65407');
    expect(blocks.get('192.168.101.4')).toBe('65152-65279');
    expect(blocks.get('192.168.101.254')).toBe('33152-33279');
  });

  it('compat on two /25 gives 250 hosts blocks of 256, skipping each network gateway', () => {
    const allocation = allocate(request({ compat: true, nets: ['192.168.101.0/25', '192.168.101.128/25'] }));
    expect(allocation.hostCount).toBe(250);
    expect(allocation.blockSize).toBe(256);
    const blocks = blockByHost(allocation);
    expect(blocks.get('192.168.101.2')).toBe('65280-65535');
    expect(blocks.get('192.168.101.129')).toBeUndefined();
    expect(blocks.get('192.168.101.130')).toBe('33280-33535');
    expect(blocks.get('192.168.101.254')).toBe('1536-1791');
  });

  it('compat keeps the old script halving an exact power of two', () => {
    // floor(64255 / N) = 128 exactly → the script picks 64, not 128
    expect(eduvpnCompatBlockSize(Math.floor(64255 / 128))).toBe(64);
    expect(eduvpnCompatBlockSize(253)).toBe(128);
  });

  it('compat walks networks in the given order, as the script walked profiles', () => {
    const allocation = allocate(request({ compat: true, nets: ['192.168.101.128/25', '192.168.101.0/25'] }));
    expect(blockByHost(allocation).get('192.168.101.130')).toBe('65280-65535');
  });

  it('with the full pool 1280-65535 and no exclusion a /24 gets blocks of 253', () => {
    const allocation = allocate(request({ portRange: { lo: 1280, hi: 65535 }, exclusions: [] }));
    expect(allocation.blockSize).toBe(253);
    const blocks = blockByHost(allocation);
    expect(blocks.get('192.168.101.2')).toBe('65283-65535');
    expect(blocks.get('192.168.101.3')).toBe('65030-65282');
    expect(blocks.get('192.168.101.254')).toBe('1527-1779');
  });

  it('with the defaults a /24 gets blocks of 142 that jump over the ephemeral range', () => {
    const allocation = allocate(request({}));
    expect(allocation.blockSize).toBe(142);
    const blocks = blockByHost(allocation);
    expect(blocks.get('192.168.101.2')).toBe('65394-65535');
    expect(blocks.get('192.168.101.32')).toBe('61134-61275');
    expect(blocks.get('192.168.101.33')).toBe('32626-32767');
    expect(blocks.get('192.168.101.254')).toBe('1244-1385');
  });

  it('refuses a public network that merely starts with "100.7", and accepts the shared address space', () => {
    expect(() => allocate(request({ nets: ['100.7.0.0/24'] }))).toThrow(NatfwInputError);
    expect(() => allocate(request({ nets: ['100.128.0.0/24'] }))).toThrow(NatfwInputError);
    expect(allocate(request({ nets: ['100.64.0.0/24'] })).hostCount).toBe(253);
    expect(allocate(request({ nets: ['100.127.255.0/24'] })).hostCount).toBe(253);
    expect(() => allocate(request({ nets: ['172.32.0.0/24'] }))).toThrow(NatfwInputError);
    expect(allocate(request({ nets: ['172.31.0.0/24'] })).hostCount).toBe(253);
  });
});

describe('allocation: rules', () => {
  it('sorts hosts numerically, so reordering networks moves nobody', () => {
    const a = allocate(request({ nets: ['10.0.1.0/25', '10.0.0.0/25'] })).blocks();
    const b = allocate(request({ nets: ['10.0.0.0/25', '10.0.1.0/25'] })).blocks();
    expect(a).toEqual(b);
    expect(a[0]!.internal).toBe('10.0.0.2');
  });

  it('refuses overlapping networks', () => {
    expect(() => allocate(request({ nets: ['10.0.0.0/24', '10.0.0.128/25'] }))).toThrow(/overlap/);
  });

  it('sorts several public addresses and gives each ceil(N/K) consecutive hosts', () => {
    const allocation = allocate(request({ publics: [parseIpv4('192.0.2.9')!, PUBLIC] }));
    expect(allocation.perPublic).toBe(127);
    const blocks = allocation.blocks();
    expect(blocks[0]).toEqual({ internal: '192.168.101.2', public: '192.0.2.1', lo: expect.any(Number), hi: 65535 });
    expect(blocks[127]).toMatchObject({ internal: '192.168.101.129', public: '192.0.2.9', hi: 65535 });
    // half the hosts per address → bigger blocks than with one address
    expect(allocation.blockSize).toBeGreaterThan(142 * 2 - 10);
  });

  it('rounds down to a power of two only when --align pow2 is asked', () => {
    expect(allocate(request({ align: 'pow2' })).blockSize).toBe(128);
    expect(allocate(request({})).blockSize).toBe(142);
  });

  it('uses a fixed block size when asked and refuses one that does not fit', () => {
    expect(allocate(request({ blockSize: 100 })).blocks()[0]).toMatchObject({ lo: 65436, hi: 65535 });
    expect(() => allocate(request({ blockSize: 200 }))).toThrow(AllocationInfeasibleError);
  });

  it('reports an infeasible allocation when blocks fall below the minimum', () => {
    expect(() => allocate(request({ nets: ['10.0.0.0/20'] }))).toThrow(AllocationInfeasibleError);
    // the eduVPN script emitted 65536-65535 here; compat refuses instead
    expect(() => allocate(request({ nets: ['10.0.0.0/15'], compat: true, minBlock: 1 }))).toThrow(AllocationInfeasibleError);
    expect(allocate(request({ nets: ['10.0.0.0/20'], minBlock: 8 })).blockSize).toBe(8);
  });

  it('cuts the pool around every exclusion, top segment first', () => {
    expect(poolSegments({ lo: 1024, hi: 65535 }, [{ lo: 32768, hi: 60999 }, { lo: 8080, hi: 8080 }, { lo: 70, hi: 80 }]))
      .toEqual([{ lo: 61000, hi: 65535 }, { lo: 8081, hi: 32767 }, { lo: 1024, hi: 8079 }]);
    expect(poolSegments({ lo: 1024, hi: 65535 }, [{ lo: 1000, hi: 65535 }])).toEqual([]);
  });

  it('reads the live ephemeral range and the reserved ports for --exclude auto', () => {
    const files: Record<string, string> = {
      '/proc/sys/net/ipv4/ip_local_port_range': '32768\t60999\n',
      '/proc/sys/net/ipv4/ip_local_reserved_ports': '8080,9000-9010\n',
    };
    expect(readAutoExclusions((path) => files[path]!)).toEqual([{ lo: 32768, hi: 60999 }, { lo: 8080, hi: 8080 }, { lo: 9000, hi: 9010 }]);
  });
});

/** A tiny deterministic PRNG so property tests are reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomRequest(random: () => number): AllocationRequest {
  const prefixes = [22, 23, 24, 25, 26, 27, 28];
  const networks: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const prefix = prefixes[Math.floor(random() * prefixes.length)]!;
    networks.push(`10.${i * 8 + Math.floor(random() * 4)}.0.0/${prefix}`);
  }
  const publicCount = 1 + Math.floor(random() * 3);
  const publics = Array.from({ length: publicCount }, (_, i) => parseIpv4(`198.51.100.${200 - i * 7}`)!);
  const exclusions: PortRange[] = [];
  const exclusionCount = Math.floor(random() * 4);
  for (let i = 0; i < exclusionCount; i++) {
    const lo = 1024 + Math.floor(random() * 60000);
    exclusions.push({ lo, hi: Math.min(65535, lo + Math.floor(random() * 8000)) });
  }
  return request({
    nets: networks,
    publics,
    exclusions,
    portRange: { lo: 1024 + Math.floor(random() * 1000), hi: 65535 - Math.floor(random() * 1000) },
    align: random() < 0.3 ? 'pow2' : 'none',
    minBlock: 1,
  });
}

function inPool(port: number, req: AllocationRequest): boolean {
  if (port < req.portRange.lo || port > req.portRange.hi) return false;
  return !req.exclusions.some((e) => port >= e.lo && port <= e.hi);
}

/** Reference inverse: binary search over one public address's blocks sorted by lo. */
function binarySearchOwner(sorted: { lo: number; hi: number; index: number }[], port: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const block = sorted[mid]!;
    if (port < block.lo) hi = mid - 1;
    else if (port > block.hi) lo = mid + 1;
    else return block.index;
  }
  return -1;
}

describe('allocation: properties over random requests', () => {
  const cases = Array.from({ length: 40 }, (_, i) => randomRequest(prng(1000 + i)));

  it('puts every block inside the pool and outside every exclusion, with the chosen size', () => {
    for (const req of cases) {
      const allocation = allocate(req);
      for (const block of allocation.blocks()) {
        expect(block.hi - block.lo + 1).toBe(allocation.blockSize);
        expect(inPool(block.lo, req) && inPool(block.hi, req)).toBe(true);
        for (const exclusion of req.exclusions) expect(block.hi < exclusion.lo || block.lo > exclusion.hi).toBe(true);
      }
    }
  });

  it('gives pairwise disjoint blocks on each public address and one block per host', () => {
    for (const req of cases) {
      const allocation = allocate(req);
      const blocks = allocation.blocks();
      expect(new Set(blocks.map((b) => b.internal)).size).toBe(allocation.hostCount);
      const byPublic = new Map<string, { lo: number; hi: number }[]>();
      for (const b of blocks) byPublic.set(b.public, [...(byPublic.get(b.public) ?? []), b]);
      for (const list of byPublic.values()) {
        list.sort((a, b) => a.lo - b.lo);
        for (let i = 1; i < list.length; i++) expect(list[i]!.lo).toBeGreaterThan(list[i - 1]!.hi);
      }
    }
  });

  it('picks the largest block that fits: one port more would not', () => {
    for (const req of cases.filter((r) => r.align === 'none')) {
      const allocation = allocate(req);
      expect(() => allocate({ ...req, blockSize: allocation.blockSize + 1 })).toThrow(AllocationInfeasibleError);
    }
  });

  it('answers the O(1) inverse exactly like a binary search, for all 65536 ports', () => {
    for (const req of cases.slice(0, 12)) {
      const allocation = allocate(req);
      const blocks = allocation.blocks();
      allocation.publics.forEach((address, publicIndex) => {
        const sorted = blocks
          .map((b, index) => ({ lo: b.lo, hi: b.hi, index, public: b.public }))
          .filter((b) => b.public === formatIpv4(address))
          .sort((a, b) => a.lo - b.lo);
        for (let port = 0; port <= 65535; port++) {
          const expected = binarySearchOwner(sorted, port);
          const actual = allocation.hostIndexOf(publicIndex, port);
          if (actual !== expected) expect({ port, actual }).toEqual({ port, actual: expected });
        }
      });
    }
  });
});
