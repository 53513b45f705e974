// The JSON Schema of a whole config, built from the top-level schema and every module's args schema,
// for editors (validation and completion of peruse.json) and for the configuration reference.
import type { AnyModule } from '../modules/api.js';
import { topLevelSchema } from './schema.js';

/** A string standing for a rule file's parameter, accepted wherever a value is (`"banSeconds": "<<banSeconds>>"`). */
const PARAM_REFERENCE = { type: 'string', pattern: '^<<[A-Za-z_][\\w-]*>>$', description: 'A parameter of this rule file.' };

export function configJsonSchema(modules: readonly AnyModule[]): object {
  const filters = modules.filter((m) => m.kind === 'filter').map((m) => m.name).sort();
  const actions = modules.filter((m) => m.kind === 'action').map((m) => m.name).sort();
  const byName = (kind: 'filter' | 'action', m: AnyModule) => ({
    if: { properties: { [kind]: { const: m.name } }, required: [kind] },
    then: { properties: { args: { ...withParamReferences(m.argsSchema ?? { type: 'object' }), description: m.summary } } },
  });
  const step = {
    type: 'object',
    description: 'A step: {"filter": NAME, "args": {...}, "then"?: CHAIN, "else"?: CHAIN} or {"action": NAME, "args"?: {...}, "then"?: CHAIN}.',
    additionalProperties: false,
    properties: {
      filter: { enum: filters, description: 'A filter module: passes or fails the entry.' },
      action: { enum: actions, description: 'An action module: does something with the entry.' },
      args: { type: 'object', description: 'The module\'s arguments.' },
      then: { type: 'string', description: 'Chain to go to when the filter passes or the action is done (instead of the next step).' },
      else: { type: 'string', description: 'Chain to go to when the filter fails (instead of the next top-level chain).' },
    },
    oneOf: [
      { required: ['filter'], not: { required: ['action'] } },
      { required: ['action'], not: { anyOf: [{ required: ['filter'] }, { required: ['else'] }] } },
    ],
    allOf: [...modules.filter((m) => m.kind === 'filter').map((m) => byName('filter', m)), ...modules.filter((m) => m.kind === 'action').map((m) => byName('action', m))],
  };
  const top = structuredClone(topLevelSchema) as unknown as { properties: Record<string, { additionalProperties?: { anyOf?: { items?: unknown }[] } }> };
  const chainForms = top.properties.actions!.additionalProperties!.anyOf!;
  chainForms[0]!.items = { $ref: '#/definitions/step' };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://peruse.invalid/peruse.schema.json',
    title: 'peruse configuration (a Pyruse pyruse.json is one too)',
    ...top,
    definitions: { step },
  };
}

/** Each property of an args schema that is not a string also accepts a `<<param>>` reference. */
function withParamReferences(schema: object): object {
  const s = structuredClone(schema) as { properties?: Record<string, Record<string, unknown>> };
  for (const [name, property] of Object.entries(s.properties ?? {})) {
    if (property.type === 'string') continue;
    const { description, ...rest } = property;
    s.properties![name] = { description, anyOf: [rest, PARAM_REFERENCE] };
  }
  return s;
}
