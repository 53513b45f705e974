import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const remote = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync)!;

describe('replay from real journal files (systemd-journal-remote, several hosts)', () => {
  let dir: string;
  let traces: { steps: { step: string; result: unknown }[]; fields: Record<string, unknown> }[];
  let config: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-replay-journal-'));
    execFileSync('node', ['/work/shared/corpus/gen-corpus.mjs', '--entries', '3000', '--seed', '5', '--format', 'export', '--out', path.join(dir, 'corpus.export')]);
    mkdirSync(path.join(dir, 'journal'));
    execFileSync('sh', ['-c', `"${remote}" -o "${dir}/journal/remote.journal" - < "${dir}/corpus.export"`]);
    config = path.join(dir, 'peruse.json');
    writeFileSync(config, JSON.stringify({
      actions: {
        Latin1: [
          // a filter at the end of a chain falls through: every entry reaches "Rest"
          { filter: 'filter_pcre', args: { field: 'MESSAGE', re: 'session opened for user (?P<who>\\S+) by' } },
        ],
        Rest: [
          { filter: 'filter_pcre', args: { field: '_HOSTNAME', re: '(?P<host>.+)' } },
          { filter: 'filter_lowerOrEquals', args: { field: 'PRIORITY', value: 7 } },
          { action: 'action_noop' },
        ],
      },
      storage: dir,
    }));
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'replay', '--config', config, '--journal-dir', path.join(dir, 'journal'), '--trace', '--stats'],
      { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(result.status, result.stderr).toBe(0);
    traces = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
  }, 60_000);

  it('reads every entry of every host', () => {
    expect(traces.length).toBe(3000);
    const hosts = new Set(traces.map((t) => t.fields.host));
    expect([...hosts].sort()).toEqual(['dmz', 'mail', 'sshserv', 'web1']);
  });

  it('decodes a non-UTF-8 message with the 8-bit encoding (ISO-8859-1 by default)', () => {
    const latin = traces.filter((t) => t.fields.who !== undefined);
    expect(latin.length).toBeGreaterThan(0);
    expect(latin.every((t) => t.fields.who === 'jos\u00e9')).toBe(true);
  });

  it('types numeric fields: PRIORITY compares as a number', () => {
    expect(traces.every((t) => t.steps.some((s) => s.step === 'Rest[1]' && s.result === true))).toBe(true);
  });

  it('reads a single journal file with --journal-file', () => {
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'replay', '--config', config, '--journal-file', path.join(dir, 'journal', 'remote.journal'), '--stats'],
      { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stderr.trim().split('\n').pop()!).entries).toBe(3000);
  });
});
