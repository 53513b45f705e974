// Build step (`npm run build`): the config validators as plain code, so `check` and `run` do not
// load ajv and compile a schema per module at every start (130 ms of a 460 ms `check`). A schema
// that has changed since, and every user module's, is still compiled by ajv at run time.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { loadBuiltins } from '../modules/registry.js';
import { AJV_OPTIONS, PRECOMPILED_FILE, topLevelSchema } from './schema.js';

const Ajv = AjvModule.default ?? AjvModule;
const standaloneCode = standaloneModule.default ?? standaloneModule;

const registry = await loadBuiltins();
const schemas: Record<string, object> = { top: topLevelSchema };
for (const name of registry.names()) {
  const schema = registry.get(name)!.argsSchema;
  if (schema) schemas[name] = schema;
}

const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, name);
const code = standaloneCode(ajv, Object.fromEntries(Object.keys(schemas).map((name) => [name, name])));
// each validator with the exact schema it was made from: a changed schema is recompiled, not trusted
const table = `\nexport const precompiled = [${Object.keys(schemas).map((name) => `[${JSON.stringify(JSON.stringify(schemas[name]!))}, ${name}]`).join(', ')}];\n`;
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), PRECOMPILED_FILE);
// ajv's standalone ESM code still calls require() for a few runtime helpers (ucs2length for a
// maxLength/minLength): without this line the file fails to load and every schema is compiled again
const prelude = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n";
writeFileSync(out, prelude + code + table);
process.stdout.write(`precompiled ${Object.keys(schemas).length} config validators into ${path.relative(process.cwd(), out)}\n`);
