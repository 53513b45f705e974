import { defineAction } from '../src/modules/api.js';

export default defineAction<Record<string, never>>({
  name: 'action_noop',
  summary: 'Does nothing: ends the entry here (used to discard uninteresting entries).',
  argsSchema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return { reads: [], act() { /* discarding is the point */ } };
  },
});
