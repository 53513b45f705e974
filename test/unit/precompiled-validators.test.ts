import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadBuiltins } from '../../src/modules/registry.js';
import { AJV_OPTIONS, topLevelSchema } from '../../src/config/schema.js';

const GENERATED = new URL('../../dist/src/config/validators.generated.js', import.meta.url);
const Ajv = (createRequire(import.meta.url)('ajv') as { default: new (o: object) => { compile(s: object): ValidateFunction } }).default;

// values that break each kind of rule the schemas use
const SAMPLES: unknown[] = [
  {}, [], null, 'x', 3, { field: 1 }, { field: 'MESSAGE', re: 5 }, { field: 'MESSAGE', bogus: true },
  { level: 'LOUD', message: 'x' }, { counter: 'c', for: 'ip', keepSeconds: -1 }, { IP: 'ip', banSeconds: 'long' },
  { actions: 3 }, { actions: {}, email: { to: 'me' } }, { actions: { a: [1] } }, { actions: {}, nftBan: { nft: 'nft' } },
  { field: 'f', values: [1, 'a'] }, { nets: ['10.0.0.0/8'], field: 'ip' }, { saddr: 'a', keepSeconds: 0 },
];

describe('config validators made at build time', () => {
  it('exist after `npm run build` and answer every schema exactly as ajv compiling it at run time', async () => {
    expect(existsSync(GENERATED)).toBe(true);
    const { precompiled } = (await import(GENERATED.href)) as { precompiled: [string, ValidateFunction][] };
    const registry = await loadBuiltins();
    const schemas = [topLevelSchema, ...registry.names().map((n) => registry.get(n)!.argsSchema).filter((s): s is object => s !== undefined)];
    const byJson = new Map(precompiled);
    const ajv = new Ajv(AJV_OPTIONS);
    for (const schema of schemas) {
      const built = byJson.get(JSON.stringify(schema));
      expect(built, JSON.stringify(schema).slice(0, 80)).toBeDefined();
      const fresh = ajv.compile(schema);
      for (const sample of SAMPLES) {
        expect(built!(sample)).toBe(fresh(sample));
        expect(built!.errors ?? null).toEqual(fresh.errors ?? null);
      }
    }
  });

  it('load in plain node as an ES module (no require in scope), so check and run use them instead of ajv', () => {
    const count = execFileSync('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(GENERATED.href)}); process.stdout.write(String(m.precompiled.length));`], { encoding: 'utf8' });
    expect(Number(count)).toBeGreaterThan(20);
  });
});
