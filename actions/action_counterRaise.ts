import { ConfigError, counterKeyOf, defineAction, eventTimeOf, MAX_DURATION_SECONDS } from '../src/modules/api.js';

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
      keepSeconds: { type: 'number', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'How long this raise counts (event time); forever if absent or 0 (as Pyruse); at most 10 years.' },
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
    // Pyruse compat: keepSeconds 0 is no limit (Python's falsy 0), not "expires at once"
    if (args.keepSeconds === 0) ctx.warn('keepSeconds 0 means no limit, as in Pyruse: each raise counts for ever (leave it out to say so)', 'keepSeconds', 'W_PYRUSE_COMPAT');
    const keepMicros = !args.keepSeconds ? undefined : Math.round(args.keepSeconds * 1_000_000);
    const save = args.save;
    const by = args.by ?? 1;
    const byField = args.byField;
    if (args.by !== undefined && byField !== undefined) throw new ConfigError('E_BAD_ARGS', 'give "by" or "byField", not both', 'byField');
    return {
      reads: byField === undefined ? [keyField] : [keyField, byField],
      act(entry) {
        // Pyruse compat: a key field that is missing or holds None (a group that did not take part)
        // is counted under None, as Pyruse does; the entry goes on
        const value = counter.raise(counterKeyOf(entry[keyField] ?? null), eventTimeOf(entry, ctx.clock), keepMicros,
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
