import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalFilesOf, NativeJournal, NativeUnsupported } from '../../src/journal/native/reader.js';
import { GEN_CORPUS, latin1, makeTempRoot, writeJournal } from '../helpers/journal-fixtures.js';

// One journal file damaged where journalctl's own seek breaks: the size field of one entry object
// is overwritten. The in-process reader gives up there; `journalctl --after-cursor` from the last
// entry it read finds nothing (its bisection trips on the damaged entry), while journalctl reading
// the file in order skips that entry and goes on. peruse must read what journalctl reads, once each.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const DAMAGED_ENTRY = 1000;

const RECORDER = `
import { appendFileSync } from 'node:fs';
export default { kind: 'action', name: 'action_record', summary: 'test recorder', create(args) {
  return { reads: ['__CURSOR'], act(entry) { appendFileSync(args.file, entry.__CURSOR + '\\n'); } };
} };
`;

const root = makeTempRoot('peruse-hand-over-');
const journalDir = path.join(root, 'journal');
const file = path.join(journalDir, 'remote.journal');
/** journalctl's cursors for the damaged file, read in order from its head. */
let reference: string[] = [];
/** What the in-process reader gave before it gave up. */
let nativeCursors: string[] = [];

function cursorsOf(args: string[]): string[] {
  const text = execFileSync('journalctl', ['-o', 'export', '--output-fields=__CURSOR', '--no-pager', ...args], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
  return [...text.matchAll(/^__CURSOR=(.*)$/gm)].map((m) => m[1]!);
}

/** Overwrites the size field of the n-th entry object (type 3) of a journal file, found by walking its objects. */
function damageEntry(journal: string, n: number): void {
  const bytes = readFileSync(journal);
  const headerSize = Number(bytes.readBigUInt64LE(88));
  const tail = Number(bytes.readBigUInt64LE(136));
  let seen = 0;
  for (let offset = headerSize; offset <= tail;) {
    const size = Number(bytes.readBigUInt64LE(offset + 8));
    if (bytes[offset] === 3 && ++seen === n) {
      bytes.writeBigUInt64LE(0x14b6_1e66n, offset + 8);
      writeFileSync(journal, bytes);
      return;
    }
    offset += (size + 7) & ~7;
  }
  throw new Error(`${journal} has fewer than ${n} entries`);
}

beforeAll(() => {
  const exported = path.join(root, 'day.export');
  execFileSync('node', [GEN_CORPUS, '--entries', '3000', '--seed', '5', '--format', 'export', '--out', exported]);
  writeJournal(file, readFileSync(exported));
  damageEntry(file, DAMAGED_ENTRY);
  reference = cursorsOf([`--file=${file}`]);
  const journal = NativeJournal.open(journalFilesOf({ directory: journalDir }), { decode: latin1 });
  journal.seekHead();
  try {
    for (let entry = journal.next(); entry !== undefined; entry = journal.next()) nativeCursors.push(entry.__CURSOR as string);
  } catch (error) {
    if (!(error instanceof NativeUnsupported)) throw error;
  } finally {
    journal.close();
  }
  mkdirSync(path.join(root, 'modules'));
  writeFileSync(path.join(root, 'modules', 'action_record.mjs'), RECORDER);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function config(name: string, journal: Record<string, unknown>): { config: string; out: string } {
  const out = path.join(root, `${name}.cursors`);
  const config = path.join(root, `${name}.json`);
  writeFileSync(config, JSON.stringify({ storage: path.join(root, `${name}-storage`), modules: 'modules', journal, actions: { record: [{ action: 'action_record', args: { file: out } }] } }));
  return { config, out };
}

const recorded = (out: string): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);

describe('hand-over to journalctl after a damaged journal file', () => {
  it('the damage defeats the in-process reader and journalctl --after-cursor, not journalctl reading in order', () => {
    expect(nativeCursors.length).toBe(DAMAGED_ENTRY - 1);
    expect(reference.slice(0, nativeCursors.length)).toEqual(nativeCursors);
    expect(reference.length).toBe(2999);
    expect(cursorsOf([`--file=${file}`, `--after-cursor=${nativeCursors[nativeCursors.length - 1]!}`])).toEqual([]);
  });

  it('replay --journal-dir reads what journalctl reads from the file, in order, each entry once', () => {
    const { config: cfg, out } = config('replay', {});
    execFileSync('node', [PERUSE, 'replay', '--config', cfg, '--journal-dir', journalDir], { cwd: root, stdio: 'ignore' });
    expect(recorded(out)).toEqual(reference);
  }, 60_000);

  it('the daemon reads what journalctl reads from the file, in order, each entry once, and says how it handed over', async () => {
    const { config: cfg, out } = config('daemon', { directory: journalDir, since: '2000-01-01' });
    const daemon = spawn('node', [PERUSE, 'run', '--config', cfg], { cwd: root });
    let stderr = '';
    daemon.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<void>((resolve) => daemon.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 60_000;
      while (recorded(out).length < reference.length && Date.now() < deadline && daemon.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      // a little longer: a duplicate would come after the last entry
      await new Promise((r) => setTimeout(r, 1000));
      expect(recorded(out), stderr).toEqual(reference);
      expect(stderr).toMatch(/reading the journal files in-process stopped/);
      expect(stderr).toMatch(/journalctl finds nothing after .* by cursor: it reads (since @\d+|from the head)/);
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
