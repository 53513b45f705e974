// `npm run docs`: writes docs/configuration.md from the schemas in the code.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuiltins } from '../modules/registry.js';
import { configurationReference } from './reference.js';

const registry = await loadBuiltins();
const modules = registry.names().map((name) => registry.get(name)!);
// dist/src/config → the repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
writeFileSync(path.join(root, 'docs/configuration.md'), configurationReference(modules));
process.stdout.write('wrote docs/configuration.md\n');
