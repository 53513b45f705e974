import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';
const remote = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync)!;

interface TraceLine { time: number; steps: unknown[]; fields: Record<string, unknown>; effects?: string[] }

const EVERY_FIELD_STEP = 'Every field[0]';

/**
 * bench-config.json, behind a first step whose template alone names fields no filter reads. With
 * `everyField`, a user module that does not say what it reads comes first: then every field of
 * every entry is decoded.
 */
function echoConfig(dir: string, everyField: boolean): string {
  const bench = JSON.parse(readFileSync(benchConfig, 'utf8')) as { actions: Record<string, unknown[]> };
  const first = Object.keys(bench.actions)[0]!;
  const message = '{_COMM}/{_PID:>6}/{_UID}/{_SYSTEMD_UNIT}/{_TRANSPORT}/{__MONOTONIC_TIMESTAMP}/{_BOOT_ID}';
  const echo = { action: 'action_dailyReport', args: { level: 'OTHER', message }, then: first };
  const actions = everyField ? { 'Every field': [{ action: 'action_everyField', then: 'Echo' }], Echo: [echo], ...bench.actions } : { Echo: [echo], ...bench.actions };
  mkdirSync(path.join(dir, 'modules'), { recursive: true });
  writeFileSync(path.join(dir, 'modules', 'action_everyField.mjs'),
    "export default { kind: 'action', name: 'action_everyField', argsSchema: { type: 'object' }, create() { return { act() {} }; } };\n");
  const file = path.join(dir, everyField ? 'every-field.json' : 'peruse.json');
  writeFileSync(file, JSON.stringify({ ...bench, modules: 'modules', actions }));
  return file;
}

function traces(config: string, args: string[]): string[] {
  const result = spawnSync('node', [peruse, 'replay', '--config', config, '--dry-run', '--trace', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  expect(result.status, result.stderr).toBe(0);
  // journalctl merges hosts by time: entries of the same microsecond may come in another order
  return result.stdout.trim().split('\n').map((l) => {
    const { time, steps, fields, effects } = JSON.parse(l) as TraceLine;
    const own = (steps as { step: string }[]).filter((s) => s.step !== EVERY_FIELD_STEP);
    return JSON.stringify({ time, steps: own, fields, effects });
  }).sort();
}

/**
 * From journal files peruse decodes only the fields some step reads; the JSON lines are read here
 * with every field (a user module that does not say what it reads comes first). Any field a step
 * reads without declaring it would show here as a different path, capture, email or report line.
 */
describe('the same corpus from JSON lines and from journal files', () => {
  for (const [name, shape] of [['default', ['--entries', '20000']], ['dnat-heavy', ['--entries', '20000', '--hours', '0.25', '--attackers', '2000']]] as const) {
    it(`${name}: every entry takes the same steps, with the same fields changed and the same effects`, () => {
      const dir = mkdtempSync(path.join(tmpdir(), `peruse-equivalence-${name}-`));
      for (const format of ['json', 'export']) {
        execFileSync('node', [generator, ...shape, '--seed', '3', '--format', format, '--out', path.join(dir, `corpus.${format}`), '--truth', path.join(dir, 'truth.json')]);
      }
      mkdirSync(path.join(dir, 'journal'));
      execFileSync('sh', ['-c', `"${remote}" -o "${dir}/journal/remote.journal" - < "${dir}/corpus.export"`], { stdio: 'ignore' });
      const fromJson = traces(echoConfig(dir, true), ['--input', path.join(dir, 'corpus.json')]);
      const fromJournal = traces(echoConfig(dir, false), ['--journal-dir', path.join(dir, 'journal')]);
      expect(fromJournal.length).toBe(20000);
      expect(fromJournal.filter((t) => t.includes('would run')).length).toBeGreaterThan(10);
      // the echo step's fields, read by nothing else, came out of the journal files (_BOOT_ID a UUID, dashed as python-systemd prints it)
      expect(fromJournal.some((t) => /would add to the daily report: OTHER: \w+\/ *\d+\/\d+\/\S+\.service\/journal\/\d+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.test(t))).toBe(true);
      expect(fromJournal).toEqual(fromJson);
    }, 120_000);
  }
});
