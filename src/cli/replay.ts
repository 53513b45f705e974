import { performance } from 'node:perf_hooks';
import type { Entry } from '../modules/api.js';
import { makeByteDecoder } from '../journal/fields.js';
import { fileOrStdin, forEachJsonEntry, JsonLineParser } from '../journal/json-lines.js';
import { killRunningCommands } from '../system/exec.js';
import { createLogger } from '../system/log.js';
import { fieldsRead, stepStats } from '../workflow/program.js';
import { createProcessor } from '../workflow/run.js';
import { traceEntry } from '../workflow/trace.js';
import { formatTraceTree } from '../workflow/trace-text.js';
import { readRecordedJournal } from './recorded.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { EntryClock, makeServices } from './services.js';
import { configPath, EXIT_CONFIG, openConfig, printIssues } from './setup.js';

const HELP = `usage: peruse replay --config FILE (--input FILE.jsonl | --input - | --journal-dir DIR | --journal-file FILE)
                     [--dry-run] [--trace[=json|tree]] [--stats]

Pushes recorded entries through the workflow, then exits. The clock is the entries' own time.
  --input        journalctl -o json lines (a file, or - for stdin)
  --journal-dir  journal files of a directory (read with journalctl, all hosts merged)
  --journal-file one journal file (repeatable)
  --dry-run      side-effect actions print what they would do instead of doing it
  --trace        each entry's path through the chains on stdout: a readable tree on a terminal,
                 else (and with --trace=json) one JSON line per entry
  --stats        one JSON line on stderr at the end: entries, seconds, entriesPerSecond, per-step hits`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    // a bare --trace picks its form from stdout; --trace=json / --trace=tree choose
    const { values } = parseCommandArgs(argv.map((a) => (a === '--trace' ? '--trace=auto' : a)), {
      config: { type: 'string', short: 'c' },
      input: { type: 'string', short: 'i' },
      'journal-dir': { type: 'string' },
      'journal-file': { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', short: 'n' },
      trace: { type: 'string' },
      stats: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const sources = [values.input, values['journal-dir'], values['journal-file']].filter((v) => v !== undefined);
    if (sources.length !== 1) throw new UsageError('give exactly one of --input, --journal-dir, --journal-file');

    const dryRun = values['dry-run'] === true;
    if (values.trace !== undefined && !['auto', 'json', 'tree'].includes(values.trace)) throw new UsageError(`--trace=${values.trace}: json or tree`);
    const trace = values.trace !== undefined;
    const traceTree = values.trace === 'tree' || (values.trace === 'auto' && process.stdout.isTTY === true);
    // one write per 64 KiB, not per line: a dry-run under attack prints a line per ban
    let outBuffer = '';
    const flushOut = () => { if (outBuffer) { process.stdout.write(outBuffer); outBuffer = ''; } };
    const out = (line: string) => { outBuffer += line + '\n'; if (outBuffer.length > 65536) flushOut(); };
    let effects: string[] = [];
    const log = createLogger();
    const clock = new EntryClock();
    const opened = await openConfig(configPath(values.config), makeServices({
      log, clock, dryRun, persist: !dryRun,
      onEffect: trace ? (e) => effects.push(e) : out,
    }));
    printIssues({ file: opened.file, issues: opened.issues.filter((i) => i.severity === 'error') });
    const program = opened.program;
    if (!program) return EXIT_CONFIG;

    const decode = makeByteDecoder(opened.settings.encoding);
    const processEntry = createProcessor(program, log);
    for (const instance of program.instances) await instance.start?.();

    const started = performance.now();
    let entries = 0, malformed = 0;
    // lineNumber: the JSON line, or the entry's ordinal in a journal read as export format
    const handleEntry = (entry: Entry, lineNumber: number): void | Promise<void> => {
      entries++;
      const time = entry.__REALTIME_TIMESTAMP;
      if (typeof time === 'number') clock.current = time;
      if (!trace) return processEntry(entry);
      return traceOne(entry, lineNumber, time);
    };
    const traceOne = async (entry: Entry, lineNumber: number, time: unknown) => {
      const before = new Map(Object.entries(entry));
      const steps = await traceEntry(program, log, entry);
      const changed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(entry)) if (before.get(k) !== v) changed[k] = v;
      if (traceTree) out(formatTraceTree(entry, `#${lineNumber}`, steps, changed, effects) + '\n');
      else out(JSON.stringify({ line: lineNumber, time, steps, fields: changed, ...(effects.length ? { effects } : {}) }));
      effects = [];
    };
    // only the fields some step reads are decoded, from JSON lines as from the journal (--trace
    // prints the fields the steps changed, so it needs no other)
    const wanted = fieldsRead(program);
    if (values.input !== undefined) {
      await forEachJsonEntry(fileOrStdin(values.input), new JsonLineParser(decode, wanted), handleEntry, (error, lineNumber) => {
        malformed++;
        log.warn(`input line ${lineNumber}: skipped, ${error.message}`);
      });
    } else {
      await readRecordedJournal({
        where: { directory: values['journal-dir'], file: values['journal-file'] },
        journalctl: opened.settings.journal.journalctl, reader: opened.settings.journal.reader,
        decode, wanted, log, onEntry: handleEntry,
      });
    }
    const seconds = (performance.now() - started) / 1000;
    for (const instance of program.instances) await instance.stop?.();
    // what the stops gave up on (a sendmail that hangs) must neither keep replay alive nor outlive it
    const killed = killRunningCommands();
    if (killed > 0) log.warn(`killed ${killed} command(s) still running at the end of the replay`);
    flushOut();
    if (values.stats) {
      process.stderr.write(JSON.stringify({ entries, malformed, seconds: Number(seconds.toFixed(3)), entriesPerSecond: Math.round(entries / Math.max(seconds, 1e-9)), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), steps: stepStats(program) }) + '\n');
    }
    return 0;
  });
}
