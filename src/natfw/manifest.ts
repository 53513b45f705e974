// The archive record of one allocation. The blocks are written out in full: the manifest is
// the evidence, so tracing reads the recorded blocks, never a recomputation from params.
import { createHash } from 'node:crypto';
import type { Allocation, Block } from './allocate.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { formatPortRange } from './ports.js';
import { OUTPUT_FORMATS, type OutputFormat } from './render.js';

export type ConntrackFlush = 'changed' | 'all' | 'none';

export interface ManifestParams {
  networks: string[];
  gatewaySkip: number;
  portRange: string;
  /** Excluded ranges as resolved at generation time (`auto` is recorded as what it read). */
  exclude: string[];
  excludeSource: 'auto' | 'none' | 'explicit';
  align: 'none' | 'pow2';
  blockSize: number | null;
  minBlock: number;
  compat: 'eduvpn-natfw' | null;
  outIface: string | null;
  format: OutputFormat;
}

export interface Manifest {
  natfw: 1;
  /** `pending` while the rules are being loaded; an orphaned pending manifest means "maybe live". */
  state: 'active' | 'pending';
  /** ISO-8601 UTC with milliseconds: set after the reload succeeded. */
  activatedAt: string | null;
  pendingSince: string;
  contentHash: string;
  params: ManifestParams;
  publics: string[];
  hostCount: number;
  blockSize: number;
  perPublic: number;
  segments: string[];
  /** ICMP echo ids are confined to the blocks too (all natfw renderings do this). */
  icmpIdsMapped: boolean;
  conntrackFlush: ConntrackFlush;
  /** The flush asked by conntrackFlush ran and succeeded after the reload (stale connections cannot survive). */
  conntrackFlushed: boolean;
  rulesFile: string | null;
  blocks: Block[];
}

/** What identifies an allocation's content: everything except when and how it was activated. */
export function contentHash(params: ManifestParams, publics: readonly string[], blocks: readonly Block[], rules: string): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ params, publics, blocks }));
  hash.update('\n');
  hash.update(rules);
  return `sha256:${hash.digest('hex')}`;
}

export function buildManifest(
  allocation: Allocation,
  params: ManifestParams,
  rules: string,
  conntrackFlush: ConntrackFlush,
  pendingSince: Date,
): Manifest {
  const blocks = allocation.blocks();
  const publics = allocation.publics.map((p) => formatIpv4(p));
  return {
    natfw: 1,
    state: 'pending',
    activatedAt: null,
    pendingSince: pendingSince.toISOString(),
    contentHash: contentHash(params, publics, blocks, rules),
    params,
    publics,
    hostCount: allocation.hostCount,
    blockSize: allocation.blockSize,
    perPublic: allocation.perPublic,
    segments: allocation.segments.map((s) => formatPortRange(s)),
    icmpIdsMapped: true,
    conntrackFlush,
    conntrackFlushed: false,
    rulesFile: null,
    blocks,
  };
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

/** Parses and checks a manifest: a damaged archive must fail loudly, not answer wrongly. */
export function parseManifest(text: string, name: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`${name}: not JSON (${(error as Error).message})`);
  }
  const m = data as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || m.natfw !== 1) throw new ManifestError(`${name}: not a natfw manifest`);
  if (m.state !== 'active' && m.state !== 'pending') throw new ManifestError(`${name}: bad state`);
  if (m.state === 'active' && (typeof m.activatedAt !== 'string' || Number.isNaN(Date.parse(m.activatedAt)))) {
    throw new ManifestError(`${name}: an active manifest needs activatedAt`);
  }
  if (typeof m.pendingSince !== 'string' || Number.isNaN(Date.parse(m.pendingSince))) throw new ManifestError(`${name}: bad pendingSince`);
  if (!Array.isArray(m.blocks)) throw new ManifestError(`${name}: no blocks`);
  m.blocks.forEach((b: Partial<Block>, i) => {
    if (typeof b.internal !== 'string' || parseIpv4(b.internal) === undefined
      || typeof b.public !== 'string' || parseIpv4(b.public) === undefined
      || !isPort(b.lo) || !isPort(b.hi) || b.lo > b.hi) {
      throw new ManifestError(`${name}: block ${i} is malformed`);
    }
  });
  if (!m.params || !OUTPUT_FORMATS.includes(m.params.format)) throw new ManifestError(`${name}: bad params`);
  if (m.conntrackFlush !== 'changed' && m.conntrackFlush !== 'all' && m.conntrackFlush !== 'none') {
    throw new ManifestError(`${name}: bad conntrackFlush`);
  }
  return m as Manifest;
}
