import { defineFilter, pythonEqualityKey } from '../src/modules/api.js';

interface Args { field: string; values: unknown[] }

export default defineFilter<Args>({
  name: 'filter_in',
  summary: 'Passes when the field equals one of the values (same type: 4 is not "4").',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'values'],
    properties: {
      field: { type: 'string', description: 'Entry field to read.' },
      values: { type: 'array', description: 'Accepted values; numbers for numeric fields such as PRIORITY.' },
    },
  },
  create({ field, values }) {
    // Pyruse compat: Python's `entry.get(field) in values`: null in the list accepts a missing field
    const accepted = new Set(values.map(pythonEqualityKey));
    return { reads: [field], test: (entry) => accepted.has(pythonEqualityKey(entry[field])) };
  },
});
