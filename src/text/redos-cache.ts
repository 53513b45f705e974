import { createRequire } from 'node:module';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { readRegularFile } from '../state/safe-file.js';

export interface Verdict { refusal?: string; note?: string }

// node:crypto and node:os by require when a pattern needs judging: their ES module facades cost
// every start (`check` of a config without such a pattern never needs them)
const requireHere = createRequire(import.meta.url);

/**
 * Changes when the judgement changes (redos.ts): verdicts of an older judge or recheck are not
 * reused.
 */
const JUDGE_VERSION = 1;

/**
 * Where verdicts outlive the process: judging one pattern takes recheck seconds (an imported sshd
 * jail, 24 s), which without this every start and every `check` would pay again.
 * systemd's CacheDirectory= sets CACHE_DIRECTORY; PERUSE_CACHE_DIR overrides (tests, packaging).
 */
export function verdictCacheFile(): string {
  const dir = process.env.PERUSE_CACHE_DIR
    ?? process.env.CACHE_DIRECTORY?.split(':')[0]
    ?? (process.getuid?.() === 0 ? '/var/cache/peruse'
      : path.join(process.env.XDG_CACHE_HOME || path.join((requireHere('node:os') as typeof import('node:os')).homedir(), '.cache'), 'peruse'));
  return path.join(dir, 'regex-verdicts.json');
}

let loaded: { file: string; tag: string; verdicts: Record<string, Verdict> } | undefined;

function cache(): NonNullable<typeof loaded> {
  const file = verdictCacheFile();
  if (loaded?.file === file) return loaded;
  const recheckVersion = (requireHere('recheck/package.json') as { version: string }).version;
  const tag = `recheck ${recheckVersion}, judge ${JUDGE_VERSION}`;
  let verdicts: Record<string, Verdict> = {};
  try {
    const saved = JSON.parse(readRegularFile(file, 'regex verdict cache') ?? '{}') as { tag?: unknown; verdicts?: unknown };
    if (saved.tag === tag && saved.verdicts !== null && typeof saved.verdicts === 'object') verdicts = saved.verdicts as Record<string, Verdict>;
  } catch {
    // a cache: unreadable or damaged, it is judged again and written anew
  }
  loaded = { file, tag, verdicts };
  return loaded;
}

const keyOf = (source: string, flags: string): string => (requireHere('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(`${flags}/${source}`).digest('base64url');

export function cachedVerdict(source: string, flags: string): Verdict | undefined {
  const found = cache().verdicts[keyOf(source, flags)];
  if (found === null || typeof found !== 'object') return undefined;
  const { refusal, note } = found;
  return {
    ...(typeof refusal === 'string' ? { refusal } : {}),
    ...(typeof note === 'string' ? { note } : {}),
  };
}

export function saveVerdict(source: string, flags: string, verdict: Verdict): void {
  const { file, tag, verdicts } = cache();
  verdicts[keyOf(source, flags)] = verdict;
  try {
    writeFileAtomic(file, JSON.stringify({ tag, verdicts }));
  } catch {
    // read-only or full: the verdict still holds for this process
  }
}
