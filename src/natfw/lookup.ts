// Port → block lookup over recorded blocks: per public address, blocks sorted by lo, binary
// search. O(log n), and it trusts only what the archive recorded.
import type { Block } from './allocate.js';

export class BlockIndex {
  private readonly byPublic = new Map<string, { lo: Uint16Array; hi: Uint16Array; blocks: Block[] }>();

  constructor(blocks: readonly Block[]) {
    const grouped = new Map<string, Block[]>();
    for (const block of blocks) {
      const list = grouped.get(block.public);
      if (list) list.push(block);
      else grouped.set(block.public, [block]);
    }
    for (const [address, list] of grouped) {
      list.sort((a, b) => a.lo - b.lo);
      this.byPublic.set(address, {
        lo: Uint16Array.from(list, (b) => b.lo),
        hi: Uint16Array.from(list, (b) => b.hi),
        blocks: list,
      });
    }
  }

  hasPublic(address: string): boolean {
    return this.byPublic.has(address);
  }

  /** The block holding `port` on `address`, or undefined. */
  find(address: string, port: number): Block | undefined {
    const entry = this.byPublic.get(address);
    if (!entry) return undefined;
    let lo = 0;
    let hi = entry.blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (port < entry.lo[mid]!) hi = mid - 1;
      else if (port > entry.hi[mid]!) lo = mid + 1;
      else return entry.blocks[mid];
    }
    return undefined;
  }
}
