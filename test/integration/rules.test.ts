import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const rulesDir = path.join(root, 'rules');
const rules = readdirSync(rulesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();

interface Summary {
  steps: { step: string; hits: number }[];
  samples: { annotated: number; failed: number; failures: { where: string; differences: string[] }[] };
}

describe('the rule library', () => {
  it('holds the rules the issue lists', () => {
    expect(rules).toEqual(expect.arrayContaining(['apache-auth', 'daily-report', 'dovecot', 'haproxy', 'nginx', 'php-login', 'postfix', 'recidive', 'sshd', 'sshd-dnat', 'vsftpd']));
  });

  for (const rule of rules) {
    it(`${rule}: every annotated sample is met with the default parameters, and every step of the rule is reached by a sample`, () => {
      const jsonl = path.join(rulesDir, `${rule}.samples.jsonl`);
      const log = path.join(rulesDir, `${rule}.samples.log`);
      const source = existsSync(jsonl) ? ['--input', jsonl] : existsSync(log) ? ['--log', log, '--tz', 'UTC'] : undefined;
      expect(source, `rules/${rule}.samples.jsonl or .samples.log`).toBeDefined();
      const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'test', '--config', path.join(rulesDir, `${rule}.json`), ...source!, '--json'], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      const summary = JSON.parse(result.stdout) as Summary;
      expect(summary.samples.failures).toEqual([]);
      expect(result.status).toBe(0);
      expect(summary.samples.annotated).toBeGreaterThanOrEqual(5);
      // the rule's own chains (an included rule file is covered by its own samples)
      const config = JSON.parse(readFileSync(path.join(rulesDir, `${rule}.json`), 'utf8')) as { actions: Record<string, unknown> };
      const own = new Set(Object.entries(config.actions).filter(([, v]) => Array.isArray(v)).map(([name]) => name));
      const ownSteps = summary.steps.filter((s) => own.has(s.step.replace(/\[\d+\]$/, '')));
      expect(ownSteps.length).toBeGreaterThan(0);
      expect(ownSteps.filter((s) => s.hits === 0).map((s) => s.step)).toEqual([]);
    });
  }

  it('a server config includes several rules with its own parameters and passes check', () => {
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'check', '--config', path.join(root, 'examples/server.json')], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/OK, \d+ top-level chains/);
  });
});
