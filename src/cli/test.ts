import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ActionInstance, Entry } from '../modules/api.js';
import { makeByteDecoder, typeJsonEntry } from '../journal/fields.js';
import { isTextLogFormat, TextLogParser, type TextLogFormat } from '../journal/text-log.js';
import { createLogger } from '../system/log.js';
import { describerFor, type Effect } from '../testing/effects.js';
import { compareExpectation } from '../testing/expect.js';
import { progressBar } from '../testing/progress.js';
import { similarityKey } from '../testing/similar.js';
import { TestSummary } from '../testing/summary.js';
import { traceEntry, type TraceStep } from '../workflow/trace.js';
import { entryHeadline } from '../workflow/trace-text.js';
import { parseCommandArgs, runCommand, UsageError } from './args.js';
import { readRecordedJournal } from './recorded.js';
import { EntryClock, makeServices } from './services.js';
import { configPath, EXIT_CONFIG, openConfig, printIssues } from './setup.js';

const HELP = `usage: peruse test --config FILE [SOURCE] [--json] [--show-matches STEP] [--show-missed STEP]

Runs the workflow over recorded entries WITHOUT any side effect (no command, no mail, no state
written, whatever the config says) and tells what it did: per step how many entries reached it
and passed, filters that never matched, every action that would fire (bans, emails, report
lines), and the entries no chain handled, grouped by similarity.

SOURCE (one of; default: the local journal):
  --input FILE.jsonl     journalctl -o json lines (- for stdin), or annotated samples:
                         {"entry": {...}, "expect": {...}} per line
  --journal-dir DIR      journal files of a directory
  --journal-file FILE    one journal file (repeatable)
  --since T --until T --unit U   the local journal, through journalctl's filters
  --log FILE             a plain text log, each line made a journal-like entry; lines
                         "# expect: {...}" are expectations for the next line
    --log-format F       syslog | rfc5424 | nginx-error | apache-error | auto (default),
                         or line (MESSAGE = the line without its date, as fail2ban reads logs)
    --year Y             year of dates that have none (classic syslog)
    --tz ZONE            zone of dates that have none (Europe/Paris, UTC, +02:00)
    --hostname H         _HOSTNAME of formats that have none (nginx, Apache)

  --json                 the summary as one JSON object on stdout
  --show-matches STEP    print the entries that passed STEP (e.g. "SSH[2]")
  --show-missed STEP     print the entries that reached STEP and failed it

Expectations ("expect"): reached, notReached, passed, failed (step labels), fields
({name: value, null = absent}), ban / bans (address or {address, set, seconds}), noBan,
report / log ("LEVEL: message"), noReport, email (text or {subject, text}), unhandled.
Exit: 0, 1 when an expectation is not met, 2 usage, 78 bad config.`;

/** One entry to test, where it came from (`file:line`), and what it is expected to do. */
interface Sample {
  entry: Entry;
  where: string;
  expect?: unknown;
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(HELP, async () => {
    const { values } = parseCommandArgs(joinRelativeTimes(argv), {
      config: { type: 'string', short: 'c' },
      input: { type: 'string', short: 'i' },
      'journal-dir': { type: 'string' },
      'journal-file': { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      unit: { type: 'string', short: 'u', multiple: true },
      log: { type: 'string' },
      'log-format': { type: 'string' },
      year: { type: 'string' },
      tz: { type: 'string' },
      hostname: { type: 'string' },
      json: { type: 'boolean' },
      'show-matches': { type: 'string', multiple: true },
      'show-missed': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
    const sources = [values.input, values['journal-dir'], values['journal-file'], values.log].filter((v) => v !== undefined);
    if (sources.length > 1) throw new UsageError('give at most one of --input, --journal-dir, --journal-file, --log');
    const local = sources.length === 0;
    if (!local && (values.since ?? values.until ?? values.unit) !== undefined && values['journal-dir'] === undefined && values['journal-file'] === undefined) {
      throw new UsageError('--since, --until, --unit select from the journal, not from --input or --log');
    }
    const format = values['log-format'] ?? 'auto';
    if (!isTextLogFormat(format)) throw new UsageError(`--log-format ${format}: one of syslog, rfc5424, nginx-error, apache-error, line, auto`);
    if ((values['log-format'] ?? values.year ?? values.tz ?? values.hostname) !== undefined && values.log === undefined) {
      throw new UsageError('--log-format, --year, --tz, --hostname apply to --log');
    }
    const year = values.year === undefined ? undefined : Number(values.year);
    if (year !== undefined && !(Number.isInteger(year) && year >= 1970 && year < 10000)) throw new UsageError(`--year ${values.year}: a year such as 2026`);
    let textParser: TextLogParser | undefined;
    if (values.log !== undefined) {
      try {
        textParser = new TextLogParser({ format: format as TextLogFormat | 'auto', year, timeZone: values.tz, hostname: values.hostname });
      } catch (e) {
        throw new UsageError(`--tz: ${(e as Error).message}`);
      }
    }

    const json = values.json === true;
    const log = createLogger({ quiet: true });
    const clock = new EntryClock();
    // dry-run services and no persistence: whatever the config says, nothing leaves this process
    let otherEffects: string[] | undefined;
    const opened = await openConfig(configPath(values.config), makeServices({
      log, clock, dryRun: true, persist: false, onEffect: (e) => otherEffects?.push(e),
    }));
    printIssues({ file: opened.file, issues: opened.issues });
    const program = opened.program;
    if (!program) return EXIT_CONFIG;
    const labels = new Set(program.labels);
    for (const step of [...values['show-matches'] ?? [], ...values['show-missed'] ?? []]) {
      if (!labels.has(step)) throw new UsageError(`no step "${step}" (steps are named like "${program.labels[0] ?? 'CHAIN[0]'}")`);
    }
    const showMatches = new Set(values['show-matches'] ?? []);
    const showMissed = new Set(values['show-missed'] ?? []);

    // each action step tells what it would do: built-in ones in the admin's terms, others by their dry-run description
    let effects: Effect[] = [];
    const modules = Array.from({ length: program.size }, (_, i) => opened.origins?.get((program.filters[i] ?? program.actions[i])!)?.module ?? '?');
    const configOrder = new Map([...opened.origins?.values() ?? []].map((o, i) => [o.label, i]));
    for (let i = 0; i < program.size; i++) {
      const inner = program.actions[i];
      if (!inner) continue;
      const origin = opened.origins?.get(inner);
      const describe = origin && describerFor(origin, opened.settings);
      const label = program.labels[i]!;
      const wrapped: ActionInstance = {
        reads: inner.reads,
        act(entry) {
          if (describe) effects.push(...describe(entry, label));
          else otherEffects = [];
          const done = () => {
            for (const text of otherEffects ?? []) effects.push({ kind: 'other', step: label, text });
            otherEffects = undefined;
          };
          const pending = inner.act(entry);
          if (pending instanceof Promise) return pending.then(done);
          done();
          return undefined;
        },
      };
      program.actions[i] = wrapped;
    }

    const summary = new TestSummary();
    const shown: { step: string; kind: 'match' | 'missed'; where: string; entry: Entry }[] = [];
    const out = (text: string) => process.stdout.write(text + '\n');
    const handle = async (sample: Sample) => {
      const { entry } = sample;
      summary.entries++;
      if (typeof entry.__REALTIME_TIMESTAMP === 'number') clock.current = entry.__REALTIME_TIMESTAMP;
      effects = [];
      const path: TraceStep[] = await traceEntry(program, log, entry);
      for (const effect of effects) summary.addEffect(effect);
      if (!path.some((s) => s.result === 'done')) {
        summary.unhandledCount++;
        summary.unhandled.add(similarityKey(entry), sample.where);
      }
      for (const s of path) {
        const kind = s.result === true || s.result === 'done' ? (showMatches.has(s.step) ? 'match' : undefined)
          : showMissed.has(s.step) ? 'missed' : undefined;
        if (!kind) continue;
        if (json) shown.push({ step: s.step, kind, where: sample.where, entry: { ...entry } });
        else out(`${kind === 'match' ? 'passed' : 'missed'} ${s.step}: ${entryHeadline(entry, sample.where)}`);
      }
      if (sample.expect !== undefined) {
        summary.annotated++;
        const differences = compareExpectation(sample.expect, { entry, path, effects });
        if (differences.length > 0) {
          const line = entryHeadline(entry, sample.where);
          summary.failures.push({ where: sample.where, line, differences });
          if (!json) out(`✗ ${line}\n  ${differences.join('\n  ')}\n`);
        }
      }
    };

    const decode = makeByteDecoder(opened.settings.encoding);
    const source = values.input ?? values.log ?? values['journal-dir'] ?? values['journal-file']?.join(', ') ?? 'local journal';
    const file = values.input ?? values.log;
    const total = file !== undefined && file !== '-' ? sizeOf(file) : undefined;
    const progress = progressBar(process.stderr, total);
    try {
      if (file !== undefined) {
        const stream = file === '-' ? process.stdin : createReadStream(file);
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        const name = file === '-' ? 'stdin' : file;
        let lineNumber = 0;
        let pendingExpect: unknown;
        for await (const line of lines) {
          lineNumber++;
          progress.update(summary.entries, 'bytesRead' in stream ? (stream as { bytesRead: number }).bytesRead : undefined);
          const where = `${name}:${lineNumber}`;
          if (textParser) {
            const expectation = /^#\s*expect:\s*(.*)$/.exec(line);
            if (expectation) {
              try { pendingExpect = JSON.parse(expectation[1]!); } catch (e) {
                summary.annotated++;
                summary.failures.push({ where, line, differences: [`# expect: not JSON (${(e as Error).message})`] });
                if (!json) out(`✗ ${where}: # expect: is not JSON: ${(e as Error).message}`);
              }
              continue;
            }
            if (line.trim() === '' || line.startsWith('#')) continue;
            const parsed = textParser.parse(line);
            if (!parsed) {
              summary.unparsed++;
              if (summary.unparsedExamples.length < 3) summary.unparsedExamples.push(`${where}: ${line.slice(0, 160)}`);
              if (pendingExpect !== undefined) {
                summary.annotated++;
                summary.failures.push({ where, line, differences: ['this line is in no known log format, its expectation was not checked'] });
                pendingExpect = undefined;
              }
              continue;
            }
            const expect = pendingExpect;
            pendingExpect = undefined;
            await handle({ entry: parsed.entry, where, expect });
          } else {
            if (line.trim() === '') continue;
            let value: unknown;
            try { value = JSON.parse(line); } catch (e) {
              summary.unparsed++;
              if (summary.unparsedExamples.length < 3) summary.unparsedExamples.push(`${where}: not JSON (${(e as Error).message})`);
              continue;
            }
            if (typeof value !== 'object' || value === null || Array.isArray(value)) {
              summary.unparsed++;
              if (summary.unparsedExamples.length < 3) summary.unparsedExamples.push(`${where}: not a JSON object`);
              continue;
            }
            const record = value as Record<string, unknown>;
            // an annotated sample wraps the entry; journalctl's own field names are upper case
            const annotated = typeof record.entry === 'object' && record.entry !== null && !Array.isArray(record.entry);
            const entry = typeJsonEntry((annotated ? record.entry : record) as Record<string, unknown>, decode);
            await handle({ entry, where, expect: annotated ? record.expect : undefined });
          }
        }
      } else {
        await readRecordedJournal({
          where: local
            ? { since: values.since, until: values.until, units: values.unit }
            : { directory: values['journal-dir'], file: values['journal-file'] },
          journalctl: opened.settings.journal.journalctl, reader: opened.settings.journal.reader,
          decode, log,
          onEntry: (entry, ordinal) => {
            progress.update(summary.entries);
            return handle({ entry, where: `#${ordinal}` });
          },
        });
      }
    } finally {
      progress.done();
    }

    const steps = summary.steps(program, (i) => modules[i]!)
      .sort((a, b) => (configOrder.get(a.step) ?? Infinity) - (configOrder.get(b.step) ?? Infinity));
    if (json) out(JSON.stringify({ source, ...summary.toJson(steps), ...(shown.length ? { shown } : {}) }));
    else out((showMatches.size || showMissed.size || summary.failures.length ? '\n' : '') + summary.toText(steps, source));
    return summary.failures.length > 0 ? 1 : 0;
  });
}

/** `--since -7d` as journalctl takes it: a relative time is the option's value, not another option. */
function joinRelativeTimes(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if ((argv[i] === '--since' || argv[i] === '--until') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

function sizeOf(file: string): number | undefined {
  try { return statSync(file).size; } catch { return undefined; }
}
