import { compileTemplate, defineAction, eventTimeOf } from '../src/modules/api.js';
type ReportLevel = 'WARN' | 'INFO' | 'OTHER';
type ReportDetails = 'ALL' | 'NONE' | 'FIRST' | 'LAST' | 'FIRSTLAST';

interface Args { level: ReportLevel; message: string; details?: ReportDetails }

export default defineAction<Args>({
  name: 'action_dailyReport',
  summary: 'Adds a line to the daily report (WARN or INFO table row, or OTHER chronological list), emailed at midnight.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['level', 'message'],
    properties: {
      level: { type: 'string', enum: ['WARN', 'INFO', 'OTHER'], description: 'Report section.' },
      message: { type: 'string', description: 'Python str.format template of the line (the time is added by the report).' },
      details: { type: 'string', enum: ['ALL', 'NONE', 'FIRST', 'LAST', 'FIRSTLAST'], description: 'WARN/INFO: which times of occurrence are shown (default ALL).' },
    },
  },
  create(args, ctx) {
    const template = compileTemplate(args.message, 'message');
    const level = args.level;
    const details = args.details ?? 'ALL';
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
