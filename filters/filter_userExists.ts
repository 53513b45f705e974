import { defineFilter, userExists } from '../src/modules/api.js';

interface Args { field: string }

export default defineFilter<Args>({
  name: 'filter_userExists',
  summary: 'Passes when the field names a user the system knows (local or NSS).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field'],
    properties: { field: { type: 'string', description: 'Entry field holding a user name.' } },
  },
  create({ field }) {
    return { reads: [field], test: (entry) => userExists(entry[field]) };
  },
});
