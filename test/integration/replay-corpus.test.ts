import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';

interface TraceLine { line: number; time: number; steps: { step: string; result: unknown }[]; fields: Record<string, unknown>; effects?: string[] }

describe('replay of a generated corpus through bench-config.json (dry-run, trace)', () => {
  let dir: string;
  let corpus: Record<string, unknown>[];
  let traces: TraceLine[];
  let stats: { entries: number; entriesPerSecond: number; steps: Record<string, { hits: number }> };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-replay-'));
    execFileSync('node', [generator, '--entries', '5000', '--seed', '7', '--format', 'json', '--out', path.join(dir, 'corpus.jsonl'), '--truth', path.join(dir, 'truth.json')]);
    // a malformed line in the middle must be reported and skipped, never fatal
    const lines = readFileSync(path.join(dir, 'corpus.jsonl'), 'utf8').trimEnd().split('\n');
    lines.splice(100, 0, '{"MESSAGE": broken');
    writeFileSync(path.join(dir, 'corpus.jsonl'), lines.join('\n') + '\n');
    corpus = lines.filter((l) => !l.includes('broken')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = spawnSync('node', [peruse, 'replay', '--config', benchConfig, '--input', path.join(dir, 'corpus.jsonl'), '--dry-run', '--trace', '--stats'],
      { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(result.stderr).toContain('input line 101: skipped');
    expect(result.status).toBe(0);
    traces = result.stdout.trim().split('\n').filter((l) => l.startsWith('{"line"')).map((l) => JSON.parse(l) as TraceLine);
    stats = JSON.parse(result.stderr.trim().split('\n').pop()!);
  }, 120_000);

  const pathOf = (predicate: (e: Record<string, unknown>) => boolean) => {
    const index = corpus.findIndex(predicate);
    expect(index).toBeGreaterThanOrEqual(0);
    return traces[index]!;
  };

  it('traces every well-formed entry once, and counts them', () => {
    expect(traces.length).toBe(corpus.length);
    expect(stats.entries).toBe(corpus.length);
    expect(stats.steps['Discard debug entries[0]']!.hits).toBe(corpus.length);
  });

  it('sends a debug entry straight to the NOOP chain', () => {
    const t = pathOf((e) => e.PRIORITY === '7');
    expect(t.steps.map((s) => s.step)).toEqual(['Discard debug entries[0]', '… NOOP[0]']);
  });

  it('captures a kernel DNAT line and stops there', () => {
    const t = pathOf((e) => String(e.MESSAGE).startsWith('DNAT/ssh:'));
    expect(t.steps.map((s) => `${s.step}=${String(s.result)}`)).toEqual([
      'Discard debug entries[0]=false', 'Capture DNAT of SSH connections[0]=true', 'Capture DNAT of SSH connections[1]=true',
      'Capture DNAT of SSH connections[2]=done', '… NOOP[0]=done']);
    expect(t.fields.dnatSaddr).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('restores the real client of an SSH failure that came through the DNAT', () => {
    const index = corpus.findIndex((e) => e._HOSTNAME === 'sshserv' && String(e.MESSAGE).includes('from 10.0.0.1 '));
    const t = traces[index]!;
    expect(t.steps.map((s) => s.step)).toContain('… SSH failures[1]');
    // either restored to a public address, or one of the truth's unattributed lines
    const ip = String(t.fields.thatIP);
    if (ip !== '10.0.0.1') expect(ip).not.toMatch(/^10\./);
  });

  it('lets an entry that no chain handles fall off the end (bench-config has no top-level catch-all)', () => {
    const t = pathOf((e) => e.SYSLOG_IDENTIFIER === 'postgres' && e.PRIORITY === '3');
    expect(t.steps.at(-1)).toEqual({ step: 'Discard routine entries[1]', result: false });
  });

  it('prints what a ban would run instead of running it', () => {
    const banned = traces.filter((t) => t.steps.some((s) => s.step === '… Count SSH failures[2]'));
    expect(banned.length).toBeGreaterThan(0);
    expect(banned[0]!.effects?.join('\n')).toMatch(/would run: .*add element ip Inet4 ssh_ban|would run: .*add element ip6 Inet6 ssh_ban/);
  });
});
