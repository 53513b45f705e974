import { warnIfNumericFieldString, defineFilter } from '../src/modules/api.js';

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
  create({ field, value }, ctx) {
    warnIfNumericFieldString(field, value, ctx, 'value');
    // Pyruse compat: a missing field is not equal to anything
    return { reads: [field], test: (entry) => entry[field] === value };
  },
});
