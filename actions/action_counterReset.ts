import { counterKeyOf, defineAction, eventTimeOf, MAX_DURATION_SECONDS } from '../src/modules/api.js';

interface Args { counter: string; for: string; graceSeconds?: number; save?: string }

export default defineAction<Args>({
  name: 'action_counterReset',
  summary: 'Sets the counter of the key read in a field to 0; during graceSeconds, raises of that key are ignored.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['counter', 'for'],
    properties: {
      counter: { type: 'string', description: 'Counter category, e.g. "ssh".' },
      for: { type: 'string', description: 'Entry field holding the key, e.g. the IP address.' },
      graceSeconds: { type: 'number', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'How long the count stays at 0 whatever the raises (event time); at most 10 years.' },
      save: { type: 'string', description: 'Entry field receiving the resulting value (always 0).' },
    },
  },
  create(args, ctx) {
    const store = ctx.state.counters;
    store.limitKeys(ctx.settings.section<{ counterKeys: number }>('limits').counterKeys);
    const counter = store.counter(args.counter);
    const keyField = args.for;
    const graceMicros = args.graceSeconds === undefined ? undefined : Math.round(args.graceSeconds * 1_000_000);
    const save = args.save;
    return {
      reads: [keyField],
      act(entry) {
        // Pyruse compat: as counterRaise, a missing field or None resets the count kept under None
        counter.reset(counterKeyOf(entry[keyField] ?? null), eventTimeOf(entry, ctx.clock), graceMicros);
        // Pyruse compat: the value after a reset is always 0
        if (save !== undefined) entry[save] = 0;
      },
    };
  },
});
