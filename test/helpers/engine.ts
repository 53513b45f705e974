import { buildProgram } from '../../src/config/build.js';
import { parseConfigText } from '../../src/config/load.js';
import { defineAction, defineFilter, type Entry, type ModuleContext } from '../../src/modules/api.js';
import { loadBuiltins, Registry } from '../../src/modules/registry.js';
import { Settings } from '../../src/config/settings.js';
import { State } from '../../src/state/state.js';
import { recordingRunner } from '../../src/system/exec.js';
import { memoryLogger } from '../../src/system/log.js';
import { memoryMailer } from '../../src/system/mailer-api.js';
import { createProcessor } from '../../src/workflow/run.js';
import { traceEntry } from '../../src/workflow/trace.js';

/** Test-only modules: a recorder, a thrower of each kind. */
export function testModules(records: string[]) {
  return [
    defineAction<{ tag: string }>({
      name: 'action_record', summary: 'records a tag',
      argsSchema: { type: 'object', additionalProperties: false, required: ['tag'], properties: { tag: { type: 'string', description: 'tag' } } },
      create: ({ tag }) => ({ act: () => { records.push(tag); } }),
    }),
    defineFilter<Record<string, never>>({ name: 'filter_throw', summary: 'throws', create: () => ({ test: () => { throw new Error('filter boom'); } }) }),
    defineAction<Record<string, never>>({ name: 'action_throw', summary: 'throws', create: () => ({ act: () => { throw new Error('action boom'); } }) }),
  ];
}

export async function registryWith(records: string[]): Promise<Registry> {
  const builtins = await loadBuiltins();
  const registry = new Registry();
  for (const name of builtins.names()) registry.add(builtins.get(name)!, 'built-in');
  for (const m of testModules(records)) registry.add(m, 'test');
  return registry;
}

/** Builds a config given as an object (or text) with the built-ins plus the test modules. */
export async function build(config: object | string, records: string[] = []) {
  const text = typeof config === 'string' ? config : JSON.stringify(config, null, 2);
  const { config: loaded, issues } = parseConfigText(text, 'test.json');
  if (!loaded) return { issues, program: undefined, records, log: memoryLogger(), topLevel: [] as string[] };
  const log = memoryLogger();
  const registry = await registryWith(records);
  const built = buildProgram(loaded, registry, (settings) => ({
    state: new State({ storage: settings.storage, persist: false }),
    clock: { nowMicros: () => 0 }, log, exec: recordingRunner(), mailer: memoryMailer(), dryRun: true,
  }));
  return { ...built, records, log };
}

export async function run(program: NonNullable<Awaited<ReturnType<typeof build>>['program']>, entry: Entry) {
  const log = memoryLogger();
  await createProcessor(program, log)(entry);
  return log;
}

export async function trace(program: NonNullable<Awaited<ReturnType<typeof build>>['program']>, entry: Entry) {
  return (await traceEntry(program, memoryLogger(), entry)).map((s) => `${s.step}:${String(s.result)}`);
}

/** A context for calling a module's create() directly in unit tests. */
export function fakeContext(overrides: Partial<ModuleContext> = {}): ModuleContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    path: 'actions["T"][0]', label: 'T[0]', settings: new Settings({ actions: {} }, '/tmp/test.json'),
    clock: { nowMicros: () => 0 }, log: memoryLogger(), state: new State({ storage: '/tmp', persist: false }),
    exec: recordingRunner(), mailer: memoryMailer(), dryRun: false,
    warn: (m: string) => warnings.push(m), warnings, ...overrides,
  };
}
