import { warnIfNumericFieldString, defineFilter } from '../src/modules/api.js';

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
  create({ field, values }, ctx) {
    values.forEach((v, i) => warnIfNumericFieldString(field, v, ctx, `values[${i}]`));
    const accepted = new Set(values);
    return { reads: [field], test: (entry) => entry[field] !== undefined && accepted.has(entry[field]) };
  },
});
