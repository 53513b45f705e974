import { defineAction, eventTimeOf, sessionKeyOf, sessionReferenceSchema, type SessionReferenceArgs } from '../src/modules/api.js';

interface Args extends SessionReferenceArgs { fields?: string[]; forget?: boolean }

export default defineAction<Args>({
  name: 'action_sessionRecall',
  summary: 'Copies into this entry the fields remembered for its session by action_sessionRemember (fields the entry already has are kept).',
  argsSchema: sessionReferenceSchema({
    fields: { type: 'array', items: { type: 'string' }, description: 'Only these fields (default: all remembered).' },
    forget: { type: 'boolean', description: 'Forget the session once recalled (its last entry).' },
  }),
  create(args, ctx) {
    const sessions = ctx.state.sessions.memory(args.session);
    const { key, fields, forget } = args;
    return {
      reads: key,
      act(entry) {
        const sessionKey = sessionKeyOf(entry, key);
        const now = eventTimeOf(entry, ctx.clock);
        const values = sessions.recall(sessionKey, now);
        if (values) {
          for (const name of fields ?? Object.keys(values)) {
            const value = values[name];
            if (value !== undefined && (entry[name] === undefined || entry[name] === null)) entry[name] = value;
          }
        }
        if (forget === true) sessions.forget(sessionKey, now);
      },
    };
  },
});
