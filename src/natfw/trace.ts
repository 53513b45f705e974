// "Who had port P on public IP X at time T?" — over manifests and legacy archives.
// The archive in force is the newest with time ≤ T; others stay candidates when the clock may
// be off (skew), when a connection opened under an older allocation may still be alive
// (stale), or when an activation was interrupted (pending). More than one internal address
// among the candidates is reported as ambiguous, never silently resolved.
import type { ArchiveRef, ArchiveStore, LoadedArchive } from './archive.js';
import type { Protocol } from './legacy.js';

export type TraceStatus = 'found' | 'ambiguous' | 'no-archive' | 'unknown-public-ip' | 'unassigned-port' | 'protocol-not-port-mapped';

/** How long a connection may outlive a rule change, per protocol (ms): the conntrack timeouts. */
export type StaleLimits = Record<Protocol, number>;
export const DEFAULT_STALE_MS: StaleLimits = { tcp: 432_000_000, udp: 120_000, icmp: 30_000 };

export const TRACE_EXIT_CODES: Record<TraceStatus, number> = {
  'found': 0,
  'ambiguous': 1,
  'no-archive': 3,
  'unknown-public-ip': 4,
  'unassigned-port': 4,
  'protocol-not-port-mapped': 4,
};

export interface TraceQuery {
  timeMs: number;
  publicIp: string;
  port: number;
  protocol: Protocol;
  skewMs: number;
  staleMs: StaleLimits;
}

export type CandidateReason = 'in-force' | 'skew' | 'stale' | 'pending';

export interface CandidateAnswer {
  archive: string;
  archiveTime: string;
  reason: CandidateReason;
  status: Exclude<TraceStatus, 'ambiguous' | 'no-archive'>;
  internal: string | null;
  block: [number, number] | null;
}

export interface TraceAnswer {
  status: TraceStatus;
  internal: string | null;
  public: string;
  port: number;
  protocol: Protocol;
  time: string;
  archive: string | null;
  archiveTime: string | null;
  block: [number, number] | null;
  /** Present when more than one archive had to be considered. */
  candidates?: CandidateAnswer[];
}

export function archivePath(ref: ArchiveRef): string {
  return `${ref.dir.replace(/\/$/, '')}/${ref.name}`;
}

function ask(archive: LoadedArchive, reason: CandidateReason, query: TraceQuery): CandidateAnswer {
  const base = { archive: archivePath(archive.ref), archiveTime: new Date(archive.ref.timeMs).toISOString(), reason };
  if (!archive.publics.has(query.publicIp)) return { ...base, status: 'unknown-public-ip', internal: null, block: null };
  const index = archive.indexFor(query.protocol);
  if (!index) return { ...base, status: 'protocol-not-port-mapped', internal: null, block: null };
  const block = index.find(query.publicIp, query.port);
  if (!block) return { ...base, status: 'unassigned-port', internal: null, block: null };
  return { ...base, status: 'found', internal: block.internal, block: [block.lo, block.hi] };
}

/** Index of the last ref with time ≤ t (equality selects that newer archive), or -1. */
export function inForceIndex(refs: readonly ArchiveRef[], t: number): number {
  let lo = 0;
  let hi = refs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (refs[mid]!.timeMs <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

export function trace(store: ArchiveStore, query: TraceQuery): TraceAnswer {
  const all = store.list();
  const activations = all.filter((r) => r.kind !== 'pending');
  const pendings = all.filter((r) => r.kind === 'pending');
  const answer: TraceAnswer = {
    status: 'no-archive', internal: null, public: query.publicIp, port: query.port, protocol: query.protocol,
    time: new Date(query.timeMs).toISOString(), archive: null, archiveTime: null, block: null,
  };
  const windowStart = query.timeMs - query.skewMs;
  const windowEnd = query.timeMs + query.skewMs;
  const atT = inForceIndex(activations, query.timeMs);
  const atStart = inForceIndex(activations, windowStart);
  const atEnd = inForceIndex(activations, windowEnd);
  // in force at some instant of [T − S, T + S]: the one in force at its start, then every later change inside it
  const first = atStart >= 0 ? atStart : atEnd >= 0 ? 0 : -1;
  if (first < 0) return answer;

  const picked: { ref: ArchiveRef; reason: CandidateReason }[] = [];
  for (let i = first; i <= atEnd; i++) picked.push({ ref: activations[i]!, reason: i === atT ? 'in-force' : 'skew' });
  // walking back: the previous archive's connections may still be alive while the change that
  // replaced it is younger than the protocol's conntrack timeout, unless that change flushed them
  const staleLimit = query.staleMs[query.protocol];
  for (let j = first; j > 0; j--) {
    const replacing = activations[j]!;
    if (windowStart - replacing.timeMs >= staleLimit) break;
    if (store.load(replacing).flushedConntrack) break;
    picked.unshift({ ref: activations[j - 1]!, reason: 'stale' });
  }
  for (const ref of pendings) if (ref.timeMs <= windowEnd) picked.push({ ref, reason: 'pending' });

  const answers = picked.map(({ ref, reason }) => ask(store.load(ref), reason, query));
  const primary = answers.find((a) => a.reason === 'in-force') ?? answers.find((a) => a.reason === 'skew')!;
  const internals = new Set(answers.filter((a) => a.internal !== null).map((a) => a.internal));
  const chosen = internals.size > 0 ? (primary.internal !== null ? primary : answers.find((a) => a.internal !== null)!) : primary;
  answer.status = internals.size > 1 ? 'ambiguous' : chosen.status;
  answer.internal = chosen.internal;
  answer.archive = chosen.archive;
  answer.archiveTime = chosen.archiveTime;
  answer.block = chosen.block;
  if (answers.length > 1) answer.candidates = answers;
  return answer;
}
