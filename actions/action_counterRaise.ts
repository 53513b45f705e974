import { ConfigError, defineAction, eventTimeOf } from '../src/modules/api.js';

interface Args { counter: string; for: string; keepSeconds?: number; save?: string; by?: number; byField?: string }

/** A raise by more than this is an error: each unit is one expiry to keep. */
const MAX_RAISE = 1000;

export default defineAction<Args>({
  name: 'action_counterRaise',
  summary: 'Adds one (or `by`, or the number in `byField`) to the counter of the key read in a field; the raise is remembered for keepSeconds (forever if absent).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['counter', 'for'],
    properties: {
      counter: { type: 'string', description: 'Counter category, e.g. "ssh"; steps naming the same category share it.' },
      for: { type: 'string', description: 'Entry field holding the key, e.g. the IP address.' },
      keepSeconds: { type: 'number', exclusiveMinimum: 0, description: 'How long this raise counts (event time); forever if absent.' },
      save: { type: 'string', description: 'Entry field receiving the resulting value.' },
      by: { type: 'integer', minimum: 1, maximum: MAX_RAISE, description: 'Add this many instead of one (e.g. a line that tells of several failed attempts).' },
      byField: { type: 'string', description: 'Entry field holding how many to add (a whole number from 0 to 1000; anything else counts one).' },
    },
  },
  create(args, ctx) {
    const store = ctx.state.counters;
    store.limitKeys(ctx.settings.section<{ counterKeys: number }>('limits').counterKeys);
    const counter = store.counter(args.counter);
    const keyField = args.for;
    const keepMicros = args.keepSeconds === undefined ? undefined : Math.round(args.keepSeconds * 1_000_000);
    const save = args.save;
    const by = args.by ?? 1;
    const byField = args.byField;
    if (args.by !== undefined && byField !== undefined) throw new ConfigError('E_BAD_ARGS', 'give "by" or "byField", not both', 'byField');
    return {
      reads: byField === undefined ? [keyField] : [keyField, byField],
      act(entry) {
        const key = entry[keyField];
        // Pyruse compat: a missing key field is an error, which stops the entry (and is logged)
        if (key === undefined || key === null) throw new Error(`field "${keyField}" is missing`);
        const value = counter.raise(typeof key === 'string' ? key : String(key), eventTimeOf(entry, ctx.clock), keepMicros,
          byField === undefined ? by : amountOf(entry[byField]));
        if (save !== undefined) entry[save] = value;
      },
    };
  },
});

function amountOf(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= MAX_RAISE ? n : 1;
}
