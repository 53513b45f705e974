import { compileTemplate, defineAction, JournalWriter, SYSLOG_LEVELS, type SyslogLevel } from '../src/modules/api.js';

interface Args { message: string; level?: SyslogLevel }

export default defineAction<Args>({
  name: 'action_log',
  summary: 'Writes a journal entry (SYSLOG_IDENTIFIER=peruse, PRIORITY from level) that later chains can count, e.g. for recidives.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'Python str.format template of the entry\'s MESSAGE.' },
      level: { type: 'string', enum: [...SYSLOG_LEVELS], description: 'Syslog severity (default INFO).' },
    },
  },
  create(args, ctx) {
    const template = compileTemplate(args.message, 'message');
    // Pyruse compat: INFO by default
    const level = args.level ?? 'INFO';
    const priority = SYSLOG_LEVELS.indexOf(level);
    // one writer (one long-lived process per priority) shared by every action_log step
    const writer = ctx.state.part('journal-writer', () => new JournalWriter());
    const { effect, log, label } = ctx;
    let reportedDrops = 0;
    return {
      reads: template.fields,
      act(entry) {
        const message = template.render(entry);
        if (effect) { effect(`would log (PRIORITY=${priority}, SYSLOG_IDENTIFIER=peruse): ${message}`); return; }
        if (!writer.write(level, message) && writer.dropped > reportedDrops * 2) {
          // doubling threshold: a broken journal must not flood peruse's own log
          reportedDrops = writer.dropped;
          log.error(`${label}: journal writer unavailable (${writer.lastError ?? 'restarting'}), ${writer.dropped} line(s) dropped`);
        }
      },
      async stop() {
        await writer.close();
      },
    };
  },
});
