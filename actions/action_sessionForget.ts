import { defineAction, eventTimeOf, sessionKeyOf, sessionReferenceSchema, type SessionReferenceArgs } from '../src/modules/api.js';

export default defineAction<SessionReferenceArgs>({
  name: 'action_sessionForget',
  summary: 'Forgets what action_sessionRemember remembered for this entry\'s session (the session ended).',
  argsSchema: sessionReferenceSchema(),
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
