import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const broken = path.join(root, 'test/fixtures/broken');

describe('peruse check', () => {
  it('accepts the full Pyruse example unchanged, warning only about the patterns that fall back to the JS engine', () => {
    const result = spawnSync('node', [peruse, 'check', '/work/shared/fixtures/pyruse-full-example.json'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const warnings = result.stderr.trim().split('\n');
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    for (const w of warnings) expect(w).toMatch(/^\/work\/shared\/fixtures\/pyruse-full-example\.json:\d+:\d+ {2}actions\[".*"\]\[\d+\]\.args\.re(\[\d+\])? {2}W_REGEX_FALLBACK {2}RE2 cannot compile/);
    expect(result.stdout).toMatch(/OK, \d+ top-level chains/);
  });

  for (const name of ['bad-json', 'steps', 'links']) {
    it(`prints the golden error list for ${name}.json and exits 78`, () => {
      const result = spawnSync('node', [peruse, 'check', `${name}.json`], { cwd: broken, encoding: 'utf8' });
      expect(result.status).toBe(78);
      expect(result.stderr).toBe(readFileSync(path.join(broken, `${name}.golden`), 'utf8'));
    });
  }

  it('reads the config from PERUSE_CONFIG when no --config is given', () => {
    const result = spawnSync('node', [peruse, 'check'], { cwd: broken, encoding: 'utf8', env: { ...process.env, PERUSE_CONFIG: 'links.json' } });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('links.json:');
  });

  it('names a missing config file with E_IO', () => {
    const result = spawnSync('node', [peruse, 'check', '--config', '/nonexistent/peruse.json'], { encoding: 'utf8' });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/^\/nonexistent\/peruse\.json:1:1 {2}\(root\) {2}E_IO {2}cannot read config/);
  });

  it('prints usage for an unknown command and exits 2', () => {
    const result = spawnSync('node', [peruse, 'frobnicate'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(execFileSync('node', [peruse, '--help'], { encoding: 'utf8' })).toContain('replay');
  });
});
