import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const dir = path.join(root, 'test/fixtures/user-modules');

describe('user modules', () => {
  it('load from the modules directory and run in the workflow, async actions included', () => {
    const result = spawnSync('node', [peruse, 'replay', '--config', 'peruse.json', '--input', 'samples.jsonl', '--trace'], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { fields: { tag: string }; steps: { step: string }[] });
    expect(lines.map((l) => l.fields.tag)).toEqual(['weekend', 'weekday']);
    expect(lines[1]!.steps.map((s) => s.step)).toEqual(['Weekend[0]', 'Weekday[0]']);
  });

  it('refuses a module that reuses a built-in name, and one that declares itself wrongly', () => {
    const result = spawnSync('node', [peruse, 'check', 'bad.json'], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/bad\.json:11:3 {2}modules {2}E_MODULE_CONFLICT {2}.*filter_equals\.mjs: module name "filter_equals" is already taken by built-in/);
    expect(result.stderr).toMatch(/E_MODULE_LOAD {2}.*broken\.js: kind must be "filter" or "action", not "sometimes"/);
  });
});
