import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, renameSync, type Stats } from 'node:fs';

/**
 * A state file that is not a regular file (a FIFO would block the reader for ever, a directory or
 * device cannot hold state): peruse refuses to use it and says which file, without a stack trace.
 */
export class FileRefusedError extends Error {}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function refusal(file: string, what: string, stats: Stats): FileRefusedError {
  return new FileRefusedError(`${file} (${what}) is ${kindOf(stats)}, not a regular file: refusing to use it; move it away`);
}

/** Throws FileRefusedError when `file` exists and is not a regular file (lstat: never opens it). */
export function refuseIrregular(file: string, what: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!stats.isFile()) throw refusal(file, what, stats);
}

/**
 * The text of a state file; undefined when it does not exist. Refuses anything but a regular file
 * before opening it, and opens without blocking and without following a link swapped in meanwhile.
 */
export function readRegularFile(file: string, what: string): string | undefined {
  refuseIrregular(file, what);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new FileRefusedError(`${file} (${what}) is a symbolic link, not a regular file: refusing to use it; move it away`);
    throw e;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refusal(file, what, stats);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Renames a damaged file to `FILE.corrupt-<UTC time>` so nothing overwrites it; returns the new name. */
export function moveAside(file: string): string {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  return aside;
}
