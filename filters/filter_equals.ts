import { defineFilter, pythonEqualityKey } from '../src/modules/api.js';

interface Args { field: string; value: unknown }

export default defineFilter<Args>({
  name: 'filter_equals',
  summary: 'Passes when the field equals the value (same type: 4 is not "4").',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'value'],
    properties: {
      field: { type: 'string', description: 'Entry field to read.' },
      value: { description: 'Value to compare with; a number for numeric fields such as PRIORITY.' },
    },
  },
  create({ field, value }) {
    // Pyruse compat: Python's `entry.get(field) == value`: a missing field equals null only, True equals 1
    const expected = pythonEqualityKey(value);
    return { reads: [field], test: (entry) => pythonEqualityKey(entry[field]) === expected };
  },
});
