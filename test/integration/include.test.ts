import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = (args: string[], input?: string) => spawnSync('node', [path.join(root, 'bin/peruse.js'), ...args], { cwd: root, encoding: 'utf8', input });

const rule = (re = '<<prefix>> port') => JSON.stringify({
  params: { maxFailures: 3, banSeconds: 600, set4: 'inet f2b ban4', neverBan: ['127.0.0.0/8'] },
  patterns: { addr: '(?P<ip>[0-9a-fA-F.:]+)', prefix: '^Failed password for \\S+ from <<addr>>' },
  actions: {
    Fail: [
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re } },
      { filter: 'filter_inNetworks', args: { field: 'ip', nets: '<<neverBan>>' }, else: 'Count' },
    ],
    Count: [
      { action: 'action_counterRaise', args: { counter: 'c', for: 'ip', save: 'n' } },
      { filter: 'filter_greaterOrEquals', args: { field: 'n', value: '<<maxFailures>>' } },
      { action: 'action_nftBan', args: { IP: 'ip', nftSetIPv4: '<<set4>>', nftSetIPv6: 'inet f2b ban6', banSeconds: '<<banSeconds>>' } },
    ],
  },
}, null, 2);

describe('composable configs', () => {
  let dir: string;
  const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  const lines = (ip: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ __REALTIME_TIMESTAMP: String(1e15 + i * 1e6), MESSAGE: `Failed password for x from ${ip} port ${i}` })).join('\n');
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-include-'));
  });

  it('an include pulls a rule file in with its parameters, and its pattern pieces and params fill the regexes and args', () => {
    write('rule.json', rule());
    write('main.json', JSON.stringify({ actions: {
      ssh: { include: 'rule.json', params: { maxFailures: 2, banSeconds: 60, neverBan: ['10.0.0.0/8'] } },
      Rest: [{ action: 'action_noop' }],
    } }));
    const result = peruse(['test', '--config', path.join(dir, 'main.json'), '--input', '-', '--json'], `${lines('192.0.2.1', 3)}\n${lines('10.1.1.1', 3)}`);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.steps.map((s: { step: string }) => s.step)).toEqual(['ssh/Fail[0]', 'ssh/Fail[1]', 'ssh/Count[0]', 'ssh/Count[1]', 'ssh/Count[2]', 'Rest[0]']);
    expect(summary.effects).toEqual([{ step: 'ssh/Count[2]', kind: 'ban', count: 2, texts: [{ text: 'ban 192.0.2.1 in "inet f2b ban4" for 60 s', count: 2 }] }]);
  });

  it('the rule file runs on its own with its default parameters', () => {
    write('rule.json', rule());
    const result = peruse(['test', '--config', path.join(dir, 'rule.json'), '--input', '-', '--json'], lines('192.0.2.1', 3));
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).effects[0].texts).toEqual([{ text: 'ban 192.0.2.1 in "inet f2b ban4" for 600 s', count: 1 }]);
  });

  it('errors inside an included rule file are reported at their line in that file', () => {
    write('rule.json', rule('<<prefix>> port ('));
    write('main.json', JSON.stringify({ actions: { ssh: { include: 'rule.json' } } }));
    const result = peruse(['check', '--config', path.join(dir, 'main.json')]);
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(new RegExp(`^${path.join(dir, 'rule.json').replace(/[.]/g, '\\.')}:20:11  actions\\["ssh/Fail"\\]\\[0\\]\\.args\\.re  E_BAD_REGEX  `, 'm'));
  });

  it('an unknown parameter, an unknown <<name>> and an include loop are errors naming what is wrong', () => {
    write('rule.json', rule('<<prefx>> port'));
    write('loop.json', JSON.stringify({ actions: { again: { include: 'main.json' } } }));
    write('main.json', JSON.stringify({ actions: {
      ssh: { include: 'rule.json', params: { maxFailure: 2 } },
      ssh2: { include: 'rule.json' },
      loop: { include: 'loop.json' },
    } }, null, 2));
    const result = peruse(['check', '--config', path.join(dir, 'main.json')]);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('actions["ssh"].params.maxFailure  E_INCLUDE  rule.json has no parameter "maxFailure" (its parameters: maxFailures, banSeconds, set4, neverBan)');
    expect(result.stderr).toMatch(/rule\.json:20:11  actions\["Fail"\]\[0\]\.args\.re  E_INCLUDE  unknown parameter or pattern "<<prefx>>"/);
    expect(result.stderr).toContain('E_INCLUDE  include loop: main.json → loop.json → main.json');
  });

  it('a plain Pyruse config with "<<" in a regex is left as written', () => {
    write('plain.json', JSON.stringify({ actions: { A: [{ filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^<<EOF>>$' } }, { action: 'action_noop' }] } }));
    const result = peruse(['test', '--config', path.join(dir, 'plain.json'), '--input', '-', '--json'], JSON.stringify({ MESSAGE: '<<EOF>>' }));
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).steps[0]).toMatchObject({ hits: 1, passes: 1 });
  });

  it('check warns when a comparison filter compares an always-numeric field with a string', () => {
    write('num.json', JSON.stringify({ actions: { A: [
      { filter: 'filter_equals', args: { field: 'PRIORITY', value: '5' } },
      { filter: 'filter_lowerOrEquals', args: { field: '_PID', value: 100 } },
      { filter: 'filter_in', args: { field: '_UID', values: [0, '1000'] } },
      { action: 'action_noop' },
    ] } }));
    const result = peruse(['check', '--config', path.join(dir, 'num.json')]);
    expect(result.status).toBe(0);
    const warnings = result.stderr.trim().split('\n');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('actions["A"][0].args.value  W_NUMERIC_FIELD_STRING  PRIORITY is always a number, so the string "5" never matches it: write 5, not "5"');
    expect(warnings[1]).toContain('actions["A"][2].args.values[1]  W_NUMERIC_FIELD_STRING');
  });
});
