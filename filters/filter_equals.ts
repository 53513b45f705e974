import { warnIfNumericFieldString, defineFilter, pythonEqualityKey, pythonTypeOfField } from '../src/modules/api.js';

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
    // Pyruse compat: Python's `entry.get(field) == value`: a missing field equals null only, True equals 1
    const expected = pythonEqualityKey(value);
    const journalType = pythonTypeOfField(field);
    if (journalType !== undefined && journalType !== 'int' && expected !== null) {
      // Pyruse compat: a datetime or UUID from python-systemd never equals a JSON value
      ctx.warn(`python-systemd gives ${field} as a ${journalType}, which never equals a JSON value: under Pyruse this filter never passed, and it never passes here`, 'field');
      return { reads: [field], test: () => false };
    }
    warnIfNumericFieldString(field, value, ctx, 'value');
    return { reads: [field], test: (entry) => pythonEqualityKey(entry[field]) === expected };
  },
});
