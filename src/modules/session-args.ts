/** Args naming a session that action_sessionRemember remembered. */
export interface SessionReferenceArgs {
  session: string;
  key: string[];
}

/**
 * The args schema of a step that reads or ends a session remembered by action_sessionRemember:
 * `session` and `key` must name it as that step did, so they are declared once for all such steps;
 * `more` holds the step's own optional args.
 */
export function sessionReferenceSchema(more: Record<string, object> = {}): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['session', 'key'],
    properties: {
      session: { type: 'string', description: 'Session memory name, as in action_sessionRemember.' },
      key: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Fields that together name the session, as in action_sessionRemember.' },
      ...more,
    },
  };
}
