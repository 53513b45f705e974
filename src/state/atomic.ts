import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Writes a file so a crash leaves either the old or the new content: tmp, fsync, rename, fsync dir. */
export function writeFileAtomic(file: string, data: string | Buffer | Iterable<string>): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    else writeChunks(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dirFd = openSync(dir, 'r');
    try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}

const CHUNK_CHARS = 64 << 10;

/**
 * Writes text pieces gathered into ~64 KiB writes: a big file (100 000 bans) never exists as one
 * string and one buffer, which V8 would put in old space at every rewrite (the daemon's RSS).
 */
function writeChunks(fd: number, pieces: Iterable<string>): void {
  let gathered: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    gathered.push(piece);
    length += piece.length;
    if (length >= CHUNK_CHARS) {
      writeSync(fd, gathered.join(''));
      gathered = [];
      length = 0;
    }
  }
  if (length > 0) writeSync(fd, gathered.join(''));
}
