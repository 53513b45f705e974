import { compileTemplate, defineAction, eventTimeOf } from '../src/modules/api.js';
type ReportLevel = 'WARN' | 'INFO' | 'OTHER';
type ReportDetails = 'ALL' | 'NONE' | 'FIRST' | 'LAST' | 'FIRSTLAST';

interface Args { level: string; message: string; details?: unknown }

const LEVELS: readonly string[] = ['WARN', 'INFO', 'OTHER'];
const DETAILS: readonly string[] = ['ALL', 'NONE', 'FIRST', 'LAST', 'FIRSTLAST'];

export default defineAction<Args>({
  name: 'action_dailyReport',
  summary: 'Adds a line to the daily report (WARN or INFO table row, or OTHER chronological list), emailed at midnight.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['level', 'message'],
    properties: {
      level: { type: 'string', description: 'Report section: WARN, INFO or OTHER (anything else is filed as OTHER, as Pyruse).' },
      message: { type: 'string', description: 'Python str.format template of the line (the time is added by the report).' },
      details: { description: 'WARN/INFO: which times of occurrence are shown: ALL (default, and anything unknown, as Pyruse), NONE, FIRST, LAST, FIRSTLAST.' },
    },
  },
  create(args, ctx) {
    const template = compileTemplate(args.message, 'message');
    // Pyruse compat: a level other than WARN or INFO (case included) is filed as OTHER
    const level = (LEVELS.includes(args.level) ? args.level : 'OTHER') as ReportLevel;
    if (level !== args.level) ctx.warn(`level "${args.level}" is filed as OTHER, as Pyruse does (levels: WARN, INFO, OTHER)`, 'level', 'W_PYRUSE_COMPAT');
    // Pyruse compat: unknown details (case included) show every occurrence
    const details = (typeof args.details === 'string' && DETAILS.includes(args.details) ? args.details : 'ALL') as ReportDetails;
    if (args.details !== undefined && details !== args.details) {
      ctx.warn(`details ${JSON.stringify(args.details)} shows every occurrence (ALL), as Pyruse does (details: ${DETAILS.join(', ')})`, 'details', 'W_PYRUSE_COMPAT');
    }
    const journal = ctx.state.report;
    const subject = ctx.settings.email.subject;
    const { effect, mailer, log, label, clock } = ctx;
    journal.onWriteError = (e) => log.error(`daily report journal ${journal.file}: ${e.message}`);
    const sendReport = () => journal.send(mailer, subject).catch((e: unknown) => {
      log.error(`${label}: daily report not sent: ${e instanceof Error ? e.message : String(e)}`);
      return 0;
    });
    return {
      reads: template.fields,
      act(entry) {
        const time = eventTimeOf(entry, clock);
        // the day ends in event time: a backlog replayed after downtime reports the right days
        if (journal.isDueAt(time)) void sendReport();
        const message = template.render(entry);
        effect?.(`would add to the daily report: ${level}: ${message}`);
        journal.append({ level, time, message, details });
      },
      start() {
        // one midnight timer for the shared report, whichever dailyReport step starts first
        journal.startSchedule(mailer, subject, (e) => log.error(`daily report not sent: ${e.message}`));
      },
      async stop() {
        journal.stopSchedule();
        journal.flush();
        await mailer.drain?.();
      },
    };
  },
});
