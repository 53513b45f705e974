import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalFilesOf, NativeJournal, NativeUnsupported } from '../../src/journal/native/reader.js';
import { buildHostile, buildTwoWriters, latin1, makeTempRoot } from '../helpers/journal-fixtures.js';

// A journal file is checked as it is read (the format's own advice: a file being written may be
// inconsistent for a moment): any damage makes the reader give up with NativeUnsupported, so the
// daemon hands over to journalctl; it never throws anything else, never loops, never gives more
// entries than the header counts.

const root = makeTempRoot('peruse-native-fuzz-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** xorshift32: the same damage on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function readAll(dir: string, limit: number): { entries: number; gaveUp: boolean } {
  let journal: NativeJournal;
  try {
    journal = NativeJournal.open(journalFilesOf({ directory: dir }), { decode: latin1 });
  } catch (error) {
    if (error instanceof NativeUnsupported) return { entries: 0, gaveUp: true };
    throw error;
  }
  try {
    journal.seekHead();
    let entries = 0;
    for (;;) {
      try {
        if (journal.next() === undefined) return { entries, gaveUp: false };
      } catch (error) {
        if (error instanceof NativeUnsupported) return { entries, gaveUp: true };
        throw error;
      }
      if (++entries > limit) throw new Error(`more than ${limit} entries from a damaged copy`);
    }
  } finally {
    journal.close();
  }
}

describe('native journal reader on damaged files', () => {
  for (const [name, build] of [['hostile', buildHostile], ['two writers', buildTwoWriters]] as const) {
    it(`when bytes of the ${name} journal are overwritten, the reader gives entries or gives up with NativeUnsupported, nothing else`, () => {
      const fixture = build(path.join(root, name.replace(' ', '-')) as never);
      const files = journalFilesOf({ directory: fixture.dir });
      const originals = files.map((file) => readFileSync(file));
      const total = readAll(fixture.dir, 1e6).entries;
      expect(total).toBeGreaterThan(0);
      const next = random(name.length * 7919 + (Number(process.env.FUZZ_SEED) || 0));
      const damaged = path.join(root, `${name.replace(' ', '-')}-damaged`);
      mkdirSync(damaged, { recursive: true });
      let gaveUp = 0;
      for (let round = 0; round < (Number(process.env.FUZZ_ROUNDS) || 300); round++) {
        // each round: one file damaged in 1 to 8 places (a whole u64 sometimes, to hit offsets and sizes)
        const which = Math.floor(next() * files.length);
        files.forEach((file, i) => copyFileSync(file, path.join(damaged, path.basename(file))));
        const bytes = Buffer.from(originals[which]!);
        const places = 1 + Math.floor(next() * 8);
        // where entries, entry arrays and data objects are: past the two hash tables (which reading
        // in order never uses) and up to the last object (the rest of the file is preallocated space)
        const u64 = (at: number) => Number(bytes.readBigUInt64LE(at));
        const first = Math.max(u64(104) + u64(112), u64(120) + u64(128));
        const used = Math.min(bytes.length, u64(136) + 256);
        for (let p = 0; p < places; p++) {
          const at = next() < 0.05 ? Math.floor(next() * 272) : first + Math.floor(next() * (used - first));
          if (next() < 0.3) for (let k = 0; k < 8 && at + k < bytes.length; k++) bytes[at + k] = Math.floor(next() * 256);
          else bytes[at] = Math.floor(next() * 256);
        }
        writeFileSync(path.join(damaged, path.basename(files[which]!)), bytes);
        // duplicates aside, a damaged copy cannot hold more entries than the headers count
        const result = readAll(damaged, total * 4);
        if (result.gaveUp) gaveUp++;
      }
      // the damage is noticed often enough to show the checks run (most bytes of a journal file are payload)
      expect(gaveUp).toBeGreaterThan(10);
    }, 120_000);
  }
});
