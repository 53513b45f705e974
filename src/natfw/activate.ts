// The activation protocol: lock → unchanged? → validate → pending files → reload → flush
// conntrack of moved hosts → activatedAt (after the reload, strictly increasing) → archive and
// swap `current`. A failed reload archives nothing and leaves `current` as it was.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CURRENT_LINK, LOCK_FILE, MANIFEST_NAME, PENDING_MANIFEST, manifestName, orphanName,
} from './archive.js';
import { readIfExists, readlinkIfExists, removeIfExists, replaceSymlink, writeFileAtomic } from './files.js';
import { acquireLock } from './lock.js';
import { parseManifest, type ConntrackFlush, type Manifest } from './manifest.js';
import { rulesFileExtension, type OutputFormat } from './render.js';
import { commandFor, DEFAULT_RELOAD, shellRunner, type ShellRunner } from './commands.js';
import { flushConntrack, movedHosts } from './conntrack.js';

export { commandFor, DEFAULT_RELOAD, DEFAULT_VALIDATE, shellQuote, shellRunner, type ShellRunner } from './commands.js';
export { hostsToCidrs, movedHosts } from './conntrack.js';

/** Exit codes of `natfw generate` / `apply`. */
export const EXIT = { ok: 0, usage: 2, infeasible: 3, validation: 4, reload: 5, locked: 6 } as const;

export class ActivationError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
    this.name = 'ActivationError';
  }
}

export interface ActivationRequest {
  archiveDir: string;
  /** Built by buildManifest (state pending). */
  manifest: Manifest;
  /** The rendered `format` (the manifest JSON itself for `json`). */
  rules: string;
  format: OutputFormat;
  reloadCommand: string | null;
  validateCommand: string | null;
  conntrackFlush: ConntrackFlush;
  conntrackCommand: string;
  /** `--compat-link PATH`: a symlink to the iptables-table rendering, for netfilter-persistent. */
  compatLink?: { path: string; force: boolean; rules: string };
  shell?: ShellRunner;
  now?: () => number;
  log?: (message: string) => void;
}

export type ActivationResult =
  | { status: 'unchanged'; manifestPath: string }
  | {
    status: 'activated'; manifestPath: string; activatedAtMs: number; flushedHosts: number; conntrackFlushed: boolean;
    previous: string | null; warnings: string[];
  };

export function readCurrentManifest(archiveDir: string): { path: string; manifest: Manifest } | undefined {
  const target = readlinkIfExists(join(archiveDir, CURRENT_LINK));
  if (target === undefined) return undefined;
  const path = resolve(archiveDir, target);
  const text = readIfExists(path);
  if (text === undefined) throw new ActivationError(EXIT.usage, `${join(archiveDir, CURRENT_LINK)} points to a missing ${target}`);
  return { path, manifest: parseManifest(text, target) };
}

/** The newest archived activation time: activatedAt must exceed it even if the clock stepped back. */
function newestArchivedMs(archiveDir: string): number {
  let newest = -Infinity;
  for (const name of readdirSync(archiveDir)) {
    const match = MANIFEST_NAME.exec(name);
    if (match) newest = Math.max(newest, Number(match[1]));
  }
  return newest;
}

/** A pending manifest left by a run that died after loading its rules stays as evidence, under a name trace reads. */
function keepOrphanedPending(archiveDir: string, log: (message: string) => void): void {
  const pendingPath = join(archiveDir, PENDING_MANIFEST);
  const text = readIfExists(pendingPath);
  if (text === undefined) return;
  try {
    const pending = parseManifest(text, PENDING_MANIFEST);
    const orphan = join(archiveDir, orphanName(Date.parse(pending.pendingSince)));
    renameSync(pendingPath, orphan);
    log(`kept the pending activation of an interrupted run as ${orphan}`);
  } catch {
    removeIfExists(pendingPath);
  }
}

async function validate(request: ActivationRequest, shell: ShellRunner, log: (m: string) => void): Promise<void> {
  const command = request.validateCommand;
  if (!command) return;
  const dir = mkdtempSync(join(tmpdir(), 'natfw-validate-'));
  try {
    const path = join(dir, `rules.${rulesFileExtension(request.format)}`);
    writeFileSync(path, request.rules);
    log(`validating: ${commandFor(command, path)}`);
    const result = await shell(commandFor(command, path), { NATFW_RULES: path, NATFW_FORMAT: request.format });
    if (result.code !== 0) throw new ActivationError(EXIT.validation, `validation failed (${command}):\n${result.output.trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkCompatLink(link: ActivationRequest['compatLink']): void {
  if (!link) return;
  let stat;
  try {
    stat = lstatSync(link.path);
  } catch {
    return;
  }
  if (!stat.isSymbolicLink() && !link.force) {
    throw new ActivationError(EXIT.usage, `${link.path} is a regular file: run once with --force to move it aside to ${link.path}.pre-natfw.<ts>`);
  }
}

export async function activate(request: ActivationRequest): Promise<ActivationResult> {
  const shell = request.shell ?? shellRunner;
  const now = request.now ?? Date.now;
  const log = request.log ?? (() => {});
  const dir = request.archiveDir;
  mkdirSync(dir, { recursive: true });
  const release = (() => {
    try {
      return acquireLock(join(dir, LOCK_FILE));
    } catch (error) {
      if ((error as Error).name === 'LockedError') throw new ActivationError(EXIT.locked, (error as Error).message);
      throw error;
    }
  })();
  try {
    keepOrphanedPending(dir, log);
    const current = readCurrentManifest(dir);
    if (current && current.manifest.contentHash === request.manifest.contentHash) {
      return { status: 'unchanged', manifestPath: current.path };
    }
    checkCompatLink(request.compatLink);
    await validate(request, shell, log);

    const extension = rulesFileExtension(request.format);
    const pendingRules = join(dir, `pending.${extension === 'json' ? 'rules.json' : extension}`);
    const pendingManifest = join(dir, PENDING_MANIFEST);
    const pending: Manifest = { ...request.manifest, state: 'pending', pendingSince: new Date(now()).toISOString() };
    writeFileAtomic(pendingRules, request.rules);
    writeFileAtomic(pendingManifest, JSON.stringify(pending, null, 1));

    const reload = request.reloadCommand;
    if (reload) {
      log(`reloading: ${commandFor(reload, pendingRules)}`);
      const result = await shell(commandFor(reload, pendingRules), { NATFW_RULES: pendingRules, NATFW_FORMAT: request.format });
      if (result.code !== 0) {
        removeIfExists(pendingManifest);
        removeIfExists(pendingRules);
        let rollback = '';
        // the previous rules can be put back with this command only if they are in the same format
        if (current?.manifest.rulesFile && current.manifest.params.format === request.format) {
          // put the previous rules back in case the failed command loaded part of the new ones
          const previousRules = join(dir, current.manifest.rulesFile);
          const restored = await shell(commandFor(reload, previousRules), { NATFW_RULES: previousRules, NATFW_FORMAT: request.format });
          rollback = restored.code === 0 ? '; previous rules reloaded' : `; reloading the previous rules failed too: ${restored.output.trim()}`;
        }
        throw new ActivationError(EXIT.reload, `reload failed (${reload}), nothing archived${rollback}:\n${result.output.trim()}`);
      }
    }

    const warnings: string[] = [];
    const moved = movedHosts(current?.manifest.blocks, request.manifest.blocks, request.conntrackFlush);
    const conntrackFlushed = request.conntrackFlush !== 'none' && await flushConntrack(request.conntrackCommand, shell, moved, warnings);

    const activatedAtMs = Math.max(now(), newestArchivedMs(dir) + 1, current ? Date.parse(current.manifest.activatedAt ?? '') + 1 || 0 : 0);
    const finalRules = `natfw-${activatedAtMs}.${extension === 'json' ? 'rules.json' : extension}`;
    const finalManifestName = manifestName(activatedAtMs);
    renameSync(pendingRules, join(dir, finalRules));
    const active: Manifest = {
      ...pending, state: 'active', activatedAt: new Date(activatedAtMs).toISOString(), rulesFile: finalRules, conntrackFlushed,
    };
    writeFileAtomic(join(dir, finalManifestName), JSON.stringify(active, null, 1));
    removeIfExists(pendingManifest);

    if (request.compatLink) {
      const compatRules = `natfw-${activatedAtMs}.rules.v4`;
      if (!existsSync(join(dir, compatRules))) writeFileAtomic(join(dir, compatRules), request.compatLink.rules);
      const link = request.compatLink.path;
      try {
        if (!lstatSync(link).isSymbolicLink()) {
          const aside = `${link}.pre-natfw.${Math.floor(activatedAtMs / 1000)}`;
          renameSync(link, aside);
          warnings.push(`moved the existing ${link} aside to ${aside}`);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      replaceSymlink(link, resolve(dir, compatRules));
    }
    replaceSymlink(join(dir, CURRENT_LINK), finalManifestName);
    return {
      status: 'activated', manifestPath: join(dir, finalManifestName), activatedAtMs, flushedHosts: moved.length, conntrackFlushed,
      previous: current?.path ?? null, warnings,
    };
  } finally {
    release();
  }
}

/** `natfw apply` (boot): load the rules of the current allocation again. */
export async function applyCurrent(options: { archiveDir: string; reloadCommand: string | null; shell?: ShellRunner }):
  Promise<{ status: 'applied' | 'nothing'; rulesPath?: string }> {
  const shell = options.shell ?? shellRunner;
  const current = readCurrentManifest(options.archiveDir);
  if (!current) return { status: 'nothing' };
  const { manifest } = current;
  if (!manifest.rulesFile) throw new ActivationError(EXIT.usage, `${current.path} names no rules file`);
  const command = options.reloadCommand ?? DEFAULT_RELOAD[manifest.params.format];
  if (!command) throw new ActivationError(EXIT.usage, `format ${manifest.params.format} has no default loader: give --reload-cmd`);
  const rulesPath = join(options.archiveDir, manifest.rulesFile);
  const result = await shell(commandFor(command, rulesPath), { NATFW_RULES: rulesPath, NATFW_FORMAT: manifest.params.format });
  if (result.code !== 0) throw new ActivationError(EXIT.reload, `loading ${rulesPath} failed (${command}):\n${result.output.trim()}`);
  return { status: 'applied', rulesPath };
}
