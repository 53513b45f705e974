import { configJsonSchema } from '../config/json-schema.js';
import { loadRegistry } from '../modules/registry.js';
import { parseCommandArgs, runCommand } from './args.js';

const HELP = `usage: peruse schema [--modules DIR]

Prints the JSON Schema of a peruse config (every module's arguments included), for editors:
  peruse schema > peruse.schema.json, then "$schema": "./peruse.schema.json" in peruse.json
  (VS Code), or map the file to it in the editor's JSON settings.
  --modules DIR   also the user modules of this directory`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values } = parseCommandArgs(argv, { modules: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const { registry, issues } = await loadRegistry(values.modules);
    for (const issue of issues) process.stderr.write(`peruse: ${issue.message}\n`);
    const modules = registry.names().map((name) => registry.get(name)!);
    process.stdout.write(JSON.stringify(configJsonSchema(modules), null, 2) + '\n');
    return issues.some((i) => i.severity === 'error') ? 1 : 0;
  });
}
