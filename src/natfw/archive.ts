// The archive directory: one manifest per activation (`natfw-<activatedAt ms>.json`) with its
// rule files beside it, the `current` symlink, and the eduVPN script's `rules.v4.<seconds>`.
// Listing reads names only; an archive's blocks are parsed the first time a trace needs them.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Block } from './allocate.js';
import { LEGACY_NAME, parseLegacyRules, type Protocol } from './legacy.js';
import { BlockIndex } from './lookup.js';
import { parseManifest, type Manifest } from './manifest.js';

export { DEFAULT_ARCHIVE_DIR } from './defaults.js';
export const MANIFEST_NAME = /^natfw-(\d{10,16})\.json$/;
/** A pending manifest left behind by a run that died between reload and archiving: maybe live. */
export const ORPHAN_NAME = /^natfw-pending-(\d{10,16})\.json$/;
export const PENDING_MANIFEST = 'pending.json';
export const CURRENT_LINK = 'current';
export const LOCK_FILE = '.lock';

export function manifestName(activatedAtMs: number): string {
  return `natfw-${activatedAtMs}.json`;
}

export function orphanName(pendingSinceMs: number): string {
  return `natfw-pending-${pendingSinceMs}.json`;
}

export type ArchiveKind = 'legacy' | 'manifest' | 'pending';

export interface ArchiveRef {
  dir: string;
  name: string;
  kind: ArchiveKind;
  /** Activation time (ms since the epoch); for a pending activation, when it started. */
  timeMs: number;
}

export interface LoadedArchive {
  ref: ArchiveRef;
  /** This activation flushed conntrack for the hosts it moved: no stale connection from the previous archive survives it. */
  flushedConntrack: boolean;
  publics: ReadonlySet<string>;
  /** The block index for a protocol, or undefined when that protocol was not port mapped. */
  indexFor(protocol: Protocol): BlockIndex | undefined;
  /** Number of hosts (for reports). */
  hostCount: number;
}

const KIND_ORDER: Record<ArchiveKind, number> = { legacy: 0, manifest: 1, pending: 2 };

/** Chronological; on an equal time a natfw manifest is newer than a legacy file (natfw replaced the script). */
export function compareRefs(a: ArchiveRef, b: ArchiveRef): number {
  return a.timeMs - b.timeMs || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function readDirNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Lists every archive of the directories (names only, plus the in-progress pending manifest's start time). */
export function listArchives(dirs: readonly string[]): ArchiveRef[] {
  const refs: ArchiveRef[] = [];
  for (const dir of dirs) {
    for (const name of readDirNames(dir)) {
      let match: RegExpExecArray | null;
      if ((match = MANIFEST_NAME.exec(name))) refs.push({ dir, name, kind: 'manifest', timeMs: Number(match[1]) });
      else if ((match = ORPHAN_NAME.exec(name))) refs.push({ dir, name, kind: 'pending', timeMs: Number(match[1]) });
      else if ((match = LEGACY_NAME.exec(name))) refs.push({ dir, name, kind: 'legacy', timeMs: Number(match[1]) * 1000 });
      else if (name === PENDING_MANIFEST) {
        try {
          const manifest = parseManifest(readFileSync(join(dir, name), 'utf8'), name);
          refs.push({ dir, name, kind: 'pending', timeMs: Date.parse(manifest.pendingSince) });
        } catch {
          // being written right now (tmp + rename makes this rare) or damaged: not evidence
        }
      }
    }
  }
  return refs.sort(compareRefs);
}

function manifestArchive(ref: ArchiveRef, manifest: Manifest): LoadedArchive {
  let index: BlockIndex | undefined;
  return {
    ref,
    flushedConntrack: manifest.conntrackFlushed === true,
    publics: new Set(manifest.publics),
    hostCount: manifest.blocks.length,
    indexFor(protocol) {
      if (protocol === 'icmp' && !manifest.icmpIdsMapped) return undefined;
      index ??= new BlockIndex(manifest.blocks);
      return index;
    },
  };
}

function legacyArchive(ref: ArchiveRef, text: string): LoadedArchive {
  const rules = parseLegacyRules(text);
  const indexes = new Map<Protocol, BlockIndex>();
  const hosts = new Set<string>();
  for (const blocks of rules.blocksByProtocol.values()) for (const b of blocks) hosts.add(b.internal);
  return {
    ref,
    flushedConntrack: false, // the script never flushed conntrack
    publics: rules.publics,
    hostCount: hosts.size,
    indexFor(protocol) {
      const blocks: Block[] | undefined = rules.blocksByProtocol.get(protocol);
      if (!blocks) return undefined;
      let index = indexes.get(protocol);
      if (!index) indexes.set(protocol, (index = new BlockIndex(blocks)));
      return index;
    },
  };
}

export function loadArchive(ref: ArchiveRef): LoadedArchive {
  const text = readFileSync(join(ref.dir, ref.name), 'utf8');
  if (ref.kind === 'legacy') return legacyArchive(ref, text);
  return manifestArchive(ref, parseManifest(text, ref.name));
}

/**
 * Listing plus a cache of parsed archives, for a long-lived caller (the chain action) that
 * re-lists only when a newer activation may have appeared.
 */
export class ArchiveStore {
  private refs: ArchiveRef[] = [];
  private readonly loaded = new Map<string, LoadedArchive>();
  private listedAtMs = -Infinity;
  private directoryStamp = '';

  constructor(readonly dirs: readonly string[]) {}

  list(): readonly ArchiveRef[] {
    if (this.listedAtMs === -Infinity) this.refresh();
    return this.refs;
  }

  /** Re-lists when a directory changed (its mtime moves when a file is renamed in or out). */
  refreshIfChanged(nowMs: number = Date.now(), minIntervalMs = 1000): void {
    if (nowMs - this.listedAtMs < minIntervalMs) return;
    const stamp = this.stamp();
    this.listedAtMs = nowMs;
    if (stamp !== this.directoryStamp) this.refresh();
  }

  refresh(): void {
    this.directoryStamp = this.stamp();
    this.refs = listArchives(this.dirs);
    this.listedAtMs = Date.now();
    const live = new Set(this.refs.map((r) => join(r.dir, r.name)));
    for (const key of this.loaded.keys()) if (!live.has(key)) this.loaded.delete(key);
  }

  load(ref: ArchiveRef): LoadedArchive {
    const key = join(ref.dir, ref.name);
    let archive = this.loaded.get(key);
    // a pending manifest can change under us; archived ones never do
    if (!archive || ref.kind === 'pending') {
      archive = loadArchive(ref);
      this.loaded.set(key, archive);
    }
    return archive;
  }

  private stamp(): string {
    return this.dirs.map((dir) => {
      try {
        return String(statSync(dir).mtimeMs);
      } catch {
        return 'missing';
      }
    }).join('|');
  }
}
