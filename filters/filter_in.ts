import { defineFilter } from '../src/modules/api.js';

interface Args { field: string; values: unknown[] | string }

export default defineFilter<Args>({
  name: 'filter_in',
  summary: 'Passes when the field equals one of the values (same type: 4 is not "4").',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'values'],
    properties: {
      field: { type: 'string', description: 'Entry field to read.' },
      values: { type: ['array', 'string'], description: 'Accepted values; numbers for numeric fields such as PRIORITY. A string: passes when the field is a substring of it (Python\'s `in`).' },
    },
  },
  create({ field, values }, ctx) {
    if (typeof values === 'string') {
      // Pyruse compat: Python's `in` on a string is a substring test (a field that is not text never passes)
      ctx.warn(`"values" is a string, not a list: passes when the field is a substring of ${JSON.stringify(values)} (Python's "in"); write a list for exact values`, 'values', 'W_PYRUSE_COMPAT');
      return { reads: [field], test: (entry) => typeof entry[field] === 'string' && values.includes(entry[field]) };
    }
    const accepted = new Set(values);
    return { reads: [field], test: (entry) => entry[field] !== undefined && accepted.has(entry[field]) };
  },
});
