import { warnIfNumericFieldString, compareSameType, defineFilter } from '../src/modules/api.js';


interface Args { field: string; value: number | string }

export default defineFilter<Args>({
  name: 'filter_lowerOrEquals',
  summary: 'Passes when the field is lower than or equal to the value (numbers with numbers, strings with strings).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'value'],
    properties: {
      field: { type: 'string', description: 'Entry field to read.' },
      value: { type: ['number', 'string'], description: 'Bound; its type must match the field (PRIORITY is a number).' },
    },
  },
  create({ field, value }, ctx) {
    warnIfNumericFieldString(field, value, ctx, 'value');
    return {
      reads: [field],
      test(entry) {
        const order = compareSameType(entry[field], value);
        return order !== undefined && order <= 0;
      },
    };
  },
});
