import type { FilterModule } from './api.js';
import { pythonTypeOfField } from '../journal/fields.js';
import { warnIfNumericFieldString } from '../journal/numeric-check.js';
import { compareSameType } from '../text/compare.js';

interface BoundArgs { field: string; value: number | string | null }

/**
 * filter_lowerOrEquals and filter_greaterOrEquals: the same comparison, Python's, read in one
 * direction or the other (`passes` gets the order of the field against the bound).
 */
export function defineBoundFilter(name: string, summary: string, passes: (order: number) => boolean): FilterModule<BoundArgs> {
  return {
    kind: 'filter',
    name,
    summary,
    argsSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['field', 'value'],
      properties: {
        field: { type: 'string', description: 'Entry field to read.' },
        value: { type: ['number', 'string', 'null'], description: 'Bound; its type must match the field (PRIORITY is a number); null never passes.' },
      },
    },
    create({ field, value }, ctx) {
      // Pyruse compat: Python cannot order None, the filter fails on every entry
      if (value === null) {
        ctx.warn('value null: this filter never passes (Python cannot compare with None; Pyruse logs an error per entry)', 'value', 'W_PYRUSE_COMPAT');
        return { reads: [field], test: () => false };
      }
      const journalType = pythonTypeOfField(field);
      if (journalType !== undefined && journalType !== 'int') {
        // Pyruse compat: Python cannot order a datetime or UUID with a JSON number or text (TypeError)
        ctx.warn(`python-systemd gives ${field} as a ${journalType}, which Python cannot compare with ${JSON.stringify(value)}: under Pyruse this filter never passed (a TypeError each time), and it never passes here`, 'field');
        return { reads: [field], test: () => false };
      }
      warnIfNumericFieldString(field, value, ctx, 'value');
      return {
        reads: [field],
        test(entry) {
          const order = compareSameType(entry[field], value);
          return order !== undefined && passes(order);
        },
      };
    },
  };
}
