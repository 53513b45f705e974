// Crash-safe file operations: a reader sees the old file or the new one, never half of one,
// and never a moment without the `current` symlink.
import { closeSync, fsyncSync, openSync, renameSync, symlinkSync, unlinkSync, writeSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** tmp + fsync + rename + fsync of the directory. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDirectory(dirname(path));
}

/** Points `linkPath` at `target` by renaming a fresh symlink over it (rename is atomic; unlink + symlink is not). */
export function replaceSymlink(linkPath: string, target: string): void {
  const tmp = `${linkPath}.tmp-${process.pid}`;
  removeIfExists(tmp);
  symlinkSync(target, tmp);
  renameSync(tmp, linkPath);
  fsyncDirectory(dirname(linkPath));
}

export function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function readlinkIfExists(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw error;
  }
}
