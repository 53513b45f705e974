import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('peruse schema', () => {
  let validate: ReturnType<Ajv['compile']>;
  beforeAll(() => {
    const result = spawnSync('node', [path.join(root, 'bin/peruse.js'), 'schema'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(result.stdout));
  });
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

  it('validates the real-world Pyruse config of the fixtures', () => {
    expect(validate(read('/work/shared/fixtures/pyruse-full-example.json')), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('validates the bundled examples and every rule of the library, <<param>> references included', () => {
    const files = [
      ...readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json')).map((f) => path.join(root, 'examples', f)),
      ...readdirSync(path.join(root, 'rules')).filter((f) => f.endsWith('.json')).map((f) => path.join(root, 'rules', f)),
    ];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(validate(read(file)), `${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
  });

  it('rejects what check rejects: wrong module args, an unknown module, an action with else, a step with both kinds', () => {
    const config = (step: object) => ({ actions: { A: [step] } });
    expect(validate(config({ filter: 'filter_equals', args: { field: 'PRIORITY', value: 3 } }))).toBe(true);
    expect(validate(config({ action: 'action_nftBan', args: { IP: 'ip', nftSetIPv4: 'a', nftSetIPv6: 'b', banSeconds: 'long' } }))).toBe(false);
    expect(validate(config({ action: 'action_nftBan', args: { IP: 'ip', nftSetIPv4: 'a' } }))).toBe(false);
    expect(validate(config({ filter: 'filter_pcre', args: { field: 'MESSAGE', re: 'x', sav: 'y' } }))).toBe(false);
    expect(validate(config({ filter: 'filter_nope', args: {} }))).toBe(false);
    expect(validate(config({ action: 'action_noop', else: 'B' }))).toBe(false);
    expect(validate(config({ action: 'action_noop', filter: 'filter_equals' }))).toBe(false);
    expect(validate({ actions: { A: { include: 'rules/sshd.json', params: { maxFailures: 3 } } } })).toBe(true);
    expect(validate({ actions: { A: { include: 'rules/sshd.json', parms: {} } } })).toBe(false);
  });
});
