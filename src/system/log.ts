/** peruse's own log. Lines go to stderr; under systemd (JOURNAL_STREAM set) each line carries
 *  an sd-daemon `<N>` priority prefix so the journal records the right PRIORITY. */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  notice(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, notice: 5, warn: 4, error: 3 };

export function createLogger(options: { debug?: boolean; sink?: (line: string) => void; quiet?: boolean } = {}): Logger {
  const underJournal = Boolean(process.env.JOURNAL_STREAM);
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, message: string) => {
    if (level === 'debug' && !options.debug) return;
    if (options.quiet && level !== 'error' && level !== 'warn') return;
    // one journal entry per line: a multi-line message would otherwise be split
    const text = message.replace(/\n/g, '\\n');
    sink(underJournal ? `<${PRIORITY[level]}>${text}` : `peruse: ${level}: ${text}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    notice: (m) => emit('notice', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

/** A logger that keeps lines in memory (unit tests, `check`). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ debug: true, sink: (l) => lines.push(l) });
  return Object.assign(logger, { lines });
}
