import { warnIfNumericFieldString, defineFilter, pythonEqualityKey, pythonTypeOfField } from '../src/modules/api.js';

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
    // Pyruse compat: Python's `entry.get(field) in values`: null in the list accepts a missing field
    const accepted = new Set(values.map(pythonEqualityKey));
    const journalType = pythonTypeOfField(field);
    if (journalType !== undefined && journalType !== 'int' && !(accepted.size === 1 && accepted.has(null))) {
      // Pyruse compat: a datetime or UUID from python-systemd is none of the JSON values
      ctx.warn(`python-systemd gives ${field} as a ${journalType}, which equals no JSON value: under Pyruse this filter passed only on a missing field (with null listed), and so it does here`, 'field');
      const nullListed = accepted.has(null);
      return { reads: [field], test: (entry) => nullListed && (entry[field] === undefined || entry[field] === null) };
    }
    values.forEach((v, i) => warnIfNumericFieldString(field, v, ctx, `values[${i}]`));
    return { reads: [field], test: (entry) => accepted.has(pythonEqualityKey(entry[field])) };
  },
});
