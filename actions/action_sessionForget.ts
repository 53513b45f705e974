import { defineAction, eventTimeOf, sessionKeyOf } from '../src/modules/api.js';

interface Args { session: string; key: string[] }

export default defineAction<Args>({
  name: 'action_sessionForget',
  summary: 'Forgets what action_sessionRemember remembered for this entry\'s session (the session ended).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['session', 'key'],
    properties: {
      session: { type: 'string', description: 'Session memory name, as in action_sessionRemember.' },
      key: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Fields that together name the session.' },
    },
  },
  create(args, ctx) {
    const sessions = ctx.state.sessions.memory(args.session);
    const { key } = args;
    return {
      reads: key,
      act(entry) {
        sessions.forget(sessionKeyOf(entry, key), eventTimeOf(entry, ctx.clock));
      },
    };
  },
});
