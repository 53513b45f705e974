import { compileTemplate, ConfigError, defineAction, JournalWriter, MAX_GENERATIONS, SYSLOG_LEVELS, type SyslogLevel } from '../src/modules/api.js';

interface Args { message: string; level?: string }

export default defineAction<Args>({
  name: 'action_log',
  summary: 'Writes a journal entry (SYSLOG_IDENTIFIER=peruse, PRIORITY from level) that later chains can count, e.g. for recidives.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'Python str.format template of the entry\'s MESSAGE.' },
      level: { type: 'string', description: `Syslog severity: ${SYSLOG_LEVELS.join(', ')} (default INFO); lower case is read as upper case.` },
    },
  },
  create(args, ctx) {
    const template = compileTemplate(args.message, 'message');
    // Pyruse compat: INFO by default
    const level = (args.level ?? 'INFO').toUpperCase() as SyslogLevel;
    if (!SYSLOG_LEVELS.includes(level)) throw new ConfigError('E_BAD_ARGS', `level must be one of ${SYSLOG_LEVELS.join(', ')}`, 'level');
    if (args.level !== undefined && level !== args.level) ctx.warn(`level "${args.level}" read as "${level}"`, 'level', 'W_PYRUSE_COMPAT');
    const priority = SYSLOG_LEVELS.indexOf(level);
    // one writer (one long-lived process per priority) shared by every action_log step
    const writer = ctx.state.part('journal-writer', () => new JournalWriter());
    const { effect, log, label } = ctx;
    let reportedDrops = 0, reportedLoops = 0;
    return {
      // MESSAGE and SYSLOG_IDENTIFIER: is the entry acted on a line peruse wrote (a feedback loop)?
      reads: [...template.fields, 'MESSAGE', 'SYSLOG_IDENTIFIER'],
      act(entry) {
        const message = template.render(entry);
        if (effect) { effect(`would log (PRIORITY=${priority}, SYSLOG_IDENTIFIER=peruse): ${message}`); return; }
        const result = writer.write(level, message, entry);
        // doubling thresholds: a broken journal or a loop must not flood peruse's own log
        if (result === 'dropped' && writer.dropped > reportedDrops * 2) {
          reportedDrops = writer.dropped;
          log.error(`${label}: journal writer unavailable (${writer.lastError ?? 'restarting'}), ${writer.dropped} line(s) dropped`);
        } else if (result === 'loop' && writer.loopsBroken > reportedLoops * 2) {
          reportedLoops = writer.loopsBroken;
          log.warn(`${label}: feedback loop broken: "${message}" would descend from ${MAX_GENERATIONS} lines action_log wrote itself, `
            + `or from too many of them in one second (a chain matches its own output); not written (${writer.loopsBroken} line(s) so far)`);
        }
      },
      async stop() {
        await writer.close();
      },
    };
  },
});
