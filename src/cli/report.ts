import { loadConfigFile } from '../config/load.js';
import { Settings } from '../config/settings.js';
import { dayOf, renderReportHtml, renderReportText } from '../state/report-render.js';
import { ReportJournal } from '../state/report.js';
import { refuseIrregularStateFiles } from '../state/state-files.js';
import { killRunningCommands } from '../system/exec.js';
import { createLogger } from '../system/log.js';
import { createMailer } from '../system/mailer.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { configPath, EXIT_CONFIG, printIssues } from './setup.js';

const HELP = `usage: peruse report --preview [--format text|html] [--config FILE]
       peruse report --send [--config FILE]

The daily report being collected (in the config's storage directory).
  --preview  print it without sending it (text, the default, or the HTML part)
  --send     email it now (the "email" section of the config) and start a new one`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      preview: { type: 'boolean' },
      send: { type: 'boolean' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    if (values.preview === values.send) throw new UsageError('give exactly one of --preview, --send');
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'html') throw new UsageError(`--format is text or html, not "${format}"`);
    if (values.send && values.format !== undefined) throw new UsageError('--format goes with --preview');

    const file = configPath(values.config);
    const { config, issues } = loadConfigFile(file);
    if (!config) { printIssues({ file, issues }); return EXIT_CONFIG; }
    const settings = new Settings(config.raw, file);
    refuseIrregularStateFiles(settings.storage);
    const journal = new ReportJournal(settings.storage, true);
    const log = createLogger();

    if (values.preview) {
      // `peruse report --preview | head` closes the pipe early: that is not an error
      process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
      // streamed: a day of tens of thousands of records is grouped in bounded memory
      const sections = journal.sections();
      const day = dayOf(sections.firstTime);
      process.stdout.write(format === 'html' ? renderReportHtml(sections, day) : renderReportText(sections, day));
      return 0;
    }
    const sections = journal.sections();
    if (sections.records === 0) { process.stderr.write('peruse: the report is empty: nothing sent\n'); return 0; }
    const day = dayOf(sections.firstTime);
    const mailer = createMailer(settings, log, { retryDelaysMs: [2_000, 10_000] });
    await mailer.send({ subject: settings.email.subject, text: renderReportText(sections, day), html: renderReportHtml(sections, day), encoding: 'base64' });
    await mailer.drain(30_000);
    // a sendmail still hanging after the drain must not keep this command alive
    killRunningCommands();
    // the report is started afresh only once it is really gone
    if (mailer.queued > 0 || mailer.dropped > 0) {
      process.stderr.write(`peruse: the report was not sent; it stays in ${journal.file}\n`);
      return 1;
    }
    journal.rotate();
    process.stderr.write(`peruse: report of ${sections.records} entries sent to ${settings.email.to.join(', ')}\n`);
    return 0;
  });
}
