import { compileTemplate, defineAction } from '../src/modules/api.js';

interface Args { field: string; value: string }

export default defineAction<Args>({
  name: 'action_setField',
  summary: 'Writes a Python str.format template\'s text into a field, e.g. a syslog-style line built from journal fields for regexes written for log files.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'value'],
    properties: {
      field: { type: 'string', description: 'Entry field to write, e.g. "line".' },
      value: { type: 'string', description: 'Template of the text, e.g. "{_HOSTNAME} {SYSLOG_IDENTIFIER}[{_PID}]: {MESSAGE}" (a missing field renders as None, as in Pyruse).' },
    },
  },
  create(args) {
    const template = compileTemplate(args.value, 'value');
    const { field } = args;
    return {
      reads: template.fields,
      act(entry) {
        entry[field] = template.render(entry);
      },
    };
  },
});
