import { compileTemplate, defineAction } from '../src/modules/api.js';

interface Args { message: string; subject?: string }

const DEFAULT_SUBJECT = 'Pyruse Notification';

export default defineAction<Args>({
  name: 'action_email',
  summary: 'Sends an email (settings in the top-level "email" section) whose text is a template of the entry.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'Python str.format template of the text, e.g. "Error on {_HOSTNAME}: {MESSAGE}".' },
      subject: { type: 'string', description: 'Subject (default "Pyruse Notification"; email.subject is the daily report\'s).' },
    },
  },
  create(args, ctx) {
    const template = compileTemplate(args.message, 'message');
    // Pyruse compat: email.subject is the daily report's subject, never this action's default
    const subject = args.subject ?? DEFAULT_SUBJECT;
    const { mailer, log, label } = ctx;
    return {
      reads: template.fields,
      act(entry) {
        // queued, not awaited: a slow or failing mail server never holds the other entries back
        mailer.send({ subject, text: template.render(entry) }).catch((e: unknown) => {
          log.error(`${label}: email "${subject}" not queued: ${e instanceof Error ? e.message : String(e)}`);
        });
      },
      async stop() {
        // replay and daemon shutdown: what is queued goes out before the process exits
        await mailer.drain?.();
      },
    };
  },
});
