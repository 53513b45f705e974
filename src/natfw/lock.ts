// One generate/apply at a time per archive directory. A lock left by a dead process (crash,
// kill -9) is taken over; a live holder makes the caller exit 6.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export class LockedError extends Error {
  constructor(readonly holderPid: number, path: string) {
    super(`${path} is held by process ${holderPid}: another natfw run is in progress`);
    this.name = 'LockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try { unlinkSync(path); } catch { /* already gone */ }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = NaN;
      try { holder = Number.parseInt(readFileSync(path, 'utf8'), 10); } catch { /* vanished meanwhile: retry */ }
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) throw new LockedError(holder, path);
      try { unlinkSync(path); } catch { /* someone else took it over: the retry decides */ }
    }
  }
  throw new LockedError(NaN, path);
}
