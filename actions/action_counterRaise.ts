import { counterKeyOf, defineAction, eventTimeOf } from '../src/modules/api.js';

interface Args { counter: string; for: string; keepSeconds?: number; save?: string }

export default defineAction<Args>({
  name: 'action_counterRaise',
  summary: 'Adds one to the counter of the key read in a field; the raise is remembered for keepSeconds (forever if absent).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['counter', 'for'],
    properties: {
      counter: { type: 'string', description: 'Counter category, e.g. "ssh"; steps naming the same category share it.' },
      for: { type: 'string', description: 'Entry field holding the key, e.g. the IP address.' },
      keepSeconds: { type: 'number', exclusiveMinimum: 0, description: 'How long this raise counts (event time); forever if absent.' },
      save: { type: 'string', description: 'Entry field receiving the resulting value.' },
    },
  },
  create(args, ctx) {
    const store = ctx.state.counters;
    store.limitKeys(ctx.settings.section<{ counterKeys: number }>('limits').counterKeys);
    const counter = store.counter(args.counter);
    const keyField = args.for;
    const keepMicros = args.keepSeconds === undefined ? undefined : Math.round(args.keepSeconds * 1_000_000);
    const save = args.save;
    return {
      reads: [keyField],
      act(entry) {
        // Pyruse compat: an absent key field is an error (Python's entry[for]), which stops the entry
        // and is logged; a field holding None (a group that did not take part) counts under None
        if (entry[keyField] === undefined) throw new Error(`field "${keyField}" is missing`);
        const value = counter.raise(counterKeyOf(entry[keyField]), eventTimeOf(entry, ctx.clock), keepMicros);
        if (save !== undefined) entry[save] = value;
      },
    };
  },
});
