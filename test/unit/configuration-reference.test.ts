import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationReference } from '../../src/config/reference.js';
import { loadBuiltins } from '../../src/modules/registry.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('docs/configuration.md', () => {
  it('is what the schemas in the code generate (run `npm run docs` after changing a schema)', async () => {
    const registry = await loadBuiltins();
    const expected = configurationReference(registry.names().map((n) => registry.get(n)!));
    expect(expected).toContain('### action_nftBan');
    expect(expected).toContain('| `banSeconds` | integer (≥ 0, ≤ 315619200) | Ban length from the entry time; absent or 0 = permanent (as Pyruse); at most 10 years. |');
    expect(readFileSync(path.join(root, 'docs/configuration.md'), 'utf8')).toBe(expected);
  });
});
