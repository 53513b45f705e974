import { ConfigError, defineAction, eventTimeOf, sessionKeyOf } from '../src/modules/api.js';

interface Args { session: string; key: string[]; fields?: string[]; values?: Record<string, string>; keepSeconds: number }

export default defineAction<Args>({
  name: 'action_sessionRemember',
  summary: 'Remembers fields of this entry for the later entries of the same session (same values of the key fields), for keepSeconds of event time.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['session', 'key', 'keepSeconds'],
    properties: {
      session: { type: 'string', description: 'Session memory name, e.g. "sshd"; steps naming the same memory share it.' },
      key: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Fields that together name the session, e.g. ["_HOSTNAME", "_PID"]; a missing one reads as "".' },
      fields: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Fields to remember, e.g. ["thatIP", "user"]; missing ones are not remembered.' },
      values: { type: 'object', required: [], additionalProperties: { type: 'string' }, description: 'Fixed values to remember too, e.g. {"pending": "yes"} ("" clears a mark for filters testing it).' },
      keepSeconds: { type: 'number', exclusiveMinimum: 0, description: 'How long after its last entry a session is remembered (event time).' },
    },
  },
  create(args, ctx) {
    const memory = ctx.state.sessions;
    memory.limitKeys(ctx.settings.section<{ sessionKeys?: number }>('limits').sessionKeys);
    const sessions = memory.memory(args.session);
    const keepMicros = Math.round(args.keepSeconds * 1_000_000);
    const { key } = args;
    const fields = args.fields ?? [];
    const fixed = args.values ?? {};
    if (fields.length === 0 && Object.keys(fixed).length === 0) throw new ConfigError('E_BAD_ARGS', 'give "fields" or "values": what to remember', 'fields');
    return {
      reads: [...key, ...fields],
      act(entry) {
        const values: Record<string, string | number | boolean> = { ...fixed };
        let any = Object.keys(fixed).length > 0;
        for (const field of fields) {
          const value = entry[field];
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') { values[field] = value; any = true; }
        }
        if (any) sessions.remember(sessionKeyOf(entry, key), values, eventTimeOf(entry, ctx.clock), keepMicros);
      },
    };
  },
});
