import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('the bundled example (a DNAT’d SSH attack, replayed)', () => {
  it('bans the DNAT’d attacker by its real address, emails it, and reports the unexpected entry', () => {
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'replay', '--config', 'examples/peruse.json', '--input', 'examples/samples.jsonl', '--dry-run', '--trace'],
      { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { effects?: string[]; fields: Record<string, unknown> });
    expect(lines).toHaveLength(10);
    const effects = lines.flatMap((l) => l.effects ?? []);
    expect(effects).toContain('would run: ["/usr/sbin/nft","add element inet peruse ban4 {12.34.56.78 timeout 86400s}"]');
    expect(effects.filter((e) => e.startsWith('would run:'))).toHaveLength(1);
    expect(effects.some((e) => e.startsWith('would email:') && e.includes('Banned 12.34.56.78 after 3 SSH failures on sshserv'))).toBe(true);
    expect(effects).toContain('would add to the daily report: OTHER: [3/su] web1: pam_unix(su:auth): authentication failure');
    expect(lines.every((l) => l.fields.thatIP !== '10.0.0.1')).toBe(true);
  });
});

describe('replay --trace for a person', () => {
  it('with --trace=tree each entry is a tree of the chains it went through, the fields set and the effects', () => {
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'replay', '--config', 'examples/peruse.json', '--input', 'examples/samples.jsonl', '--dry-run', '--trace=tree'],
      { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const second = result.stdout.split('\n\n')[1]!;
    expect(second).toMatch(/^#2 .* sshserv sshd: Failed password for root from 10\.0\.0\.1 port 43210 ssh2$/m);
    expect(second).toContain('├─ … SSH failures  [0]✓ [1]● [2]✗');
    expect(second).toContain('└─ … Report SSH failure  [0]●');
    expect(second).toContain('   fields: sshUser="root" thatIP="12.34.56.78" thatPort="43210" sshFailures=1');
  });
});
