import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Entry } from '../modules/api.js';
import { makeByteDecoder } from '../journal/fields.js';
import { forEachExportEntry } from '../journal/export-parser.js';
import { openNative } from '../journal/native/open.js';
import { CatchUp } from '../journal/native/reader.js';
import { handOverAfter, SkipThrough } from '../journal/hand-over.js';
import { blockBuffered } from '../journal/source.js';
import { fileOrStdin, forEachJsonEntry, JsonLineParser } from '../journal/json-lines.js';
import { createLogger } from '../system/log.js';
import { fieldsRead, stepStats } from '../workflow/program.js';
import { createProcessor } from '../workflow/run.js';
import { traceEntry } from '../workflow/trace.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { EntryClock, makeServices } from './services.js';
import { configPath, EXIT_CONFIG, openConfig, printIssues } from './setup.js';

const HELP = `usage: peruse replay --config FILE (--input FILE.jsonl | --input - | --journal-dir DIR | --journal-file FILE)
                     [--dry-run] [--trace] [--stats]

Pushes recorded entries through the workflow, then exits. The clock is the entries' own time.
  --input        journalctl -o json lines (a file, or - for stdin)
  --journal-dir  journal files of a directory (read with journalctl, all hosts merged)
  --journal-file one journal file (repeatable)
  --dry-run      side-effect actions print what they would do instead of doing it
  --trace        one JSON line per entry on stdout: the steps visited and their results
  --stats        one JSON line on stderr at the end: entries, seconds, entriesPerSecond, per-step hits`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      input: { type: 'string', short: 'i' },
      'journal-dir': { type: 'string' },
      'journal-file': { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', short: 'n' },
      trace: { type: 'boolean' },
      stats: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const sources = [values.input, values['journal-dir'], values['journal-file']].filter((v) => v !== undefined);
    if (sources.length !== 1) throw new UsageError('give exactly one of --input, --journal-dir, --journal-file');

    const dryRun = values['dry-run'] === true;
    const trace = values.trace === true;
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

    let child: ReturnType<typeof spawn> | undefined;
    const journalctlCommand = opened.settings.journal.journalctl ?? 'journalctl';
    const journalctlArgs = (start: { after: string } | { since: string } | undefined): string[] => {
      const where = values['journal-dir'] !== undefined ? ['--directory', values['journal-dir']] : values['journal-file']!.flatMap((f) => ['--file', f]);
      const position = start === undefined ? [] : 'after' in start ? [`--after-cursor=${start.after}`] : [`--since=${start.since}`];
      return ['-o', 'export', '--merge', '--no-pager', ...position, ...where];
    };
    const spawnJournalctl = (start: { after: string } | { since: string } | undefined): Readable => {
      const [command, argv] = blockBuffered(journalctlCommand, journalctlArgs(start));
      child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
      return child.stdout!;
    };

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
      out(JSON.stringify({ line: lineNumber, time, steps, fields: changed, ...(effects.length ? { effects } : {}) }));
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
      const where = { directory: values['journal-dir'], file: values['journal-file'], reader: opened.settings.journal.reader };
      // in-process up to the end of the files; journalctl reads on after the last entry if the reader gives up
      const native = openNative(where, { head: true }, { decode, wanted });
      let read = 0;
      let lastCursor: string | undefined;
      let complete = false;
      if (typeof native === 'string') log.debug(`journal files read by journalctl: ${native}`);
      else {
        const catchUp = new CatchUp(native);
        try {
          for (let entry = catchUp.next(); entry !== undefined; entry = catchUp.next()) {
            const pending = handleEntry(entry, ++read);
            if (pending !== undefined) await pending;
            lastCursor = entry.__CURSOR as string | undefined;
          }
        } finally {
          native.close();
        }
        complete = catchUp.stopped === undefined;
        if (!complete) log.warn(`reading the journal files in-process stopped (${catchUp.stopped}): journalctl reads on after the last entry`);
      }
      if (!complete && (read === 0 || lastCursor !== undefined)) {
        // a damaged file may defeat journalctl's seek too: it then starts earlier and skips (hand-over.ts)
        const start = lastCursor === undefined ? undefined : await handOverAfter(journalctlCommand, lastCursor, journalctlArgs);
        const skip = start !== undefined && 'skipThrough' in start ? new SkipThrough(start.skipThrough) : undefined;
        if (start !== undefined && !('after' in start)) log.warn(`journalctl finds nothing after ${lastCursor} by cursor: it reads ${'since' in start ? `since ${start.since}` : 'from the head'} and the entries up to that one are skipped`);
        let ordinal = read;
        await forEachExportEntry(spawnJournalctl(start === undefined || 'head' in start ? undefined : start), decode, (entry) => {
          if (skip !== undefined && !skip.passes(entry.__CURSOR)) return;
          return handleEntry(entry, ++ordinal);
        }, wanted);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    for (const instance of program.instances) await instance.stop?.();
    flushOut();
    const journalctl = child as ReturnType<typeof spawn> | undefined;
    if (journalctl && journalctl.exitCode === null) journalctl.kill();
    if (values.stats) {
      process.stderr.write(JSON.stringify({ entries, malformed, seconds: Number(seconds.toFixed(3)), entriesPerSecond: Math.round(entries / Math.max(seconds, 1e-9)), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), steps: stepStats(program) }) + '\n');
    }
    return 0;
  });
}
