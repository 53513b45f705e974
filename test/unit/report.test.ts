import { mkdtempSync, readFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildSections, detailLines, formatReportTime, OTHER_LINES_MAX, renderReportHtml, renderReportText, ROW_TIMES_MAX, TABLE_ROWS_MAX } from '../../src/state/report-render.js';
import { ReportJournal, scheduleDailyReport, type ReportRecord } from '../../src/state/report.js';
import { memoryMailer } from '../../src/system/mailer-api.js';
import { State } from '../../src/state/state.js';
import dailyReport from '../../actions/action_dailyReport.js';
import { fakeContext } from '../helpers/engine.js';

/** Local time → µs, so the tests hold in any time zone. */
const at = (day: number, h: number, m = 0, s = 0) => new Date(2026, 0, day, h, m, s).getTime() * 1000;
const rec = (level: ReportRecord['level'], time: number, message: string, details: ReportRecord['details'] = 'ALL'): ReportRecord => ({ level, time, message, details });
const tmp = () => mkdtempSync(path.join(tmpdir(), 'peruse-report-'));

describe('report rendering', () => {
  it('WARN and INFO have one row per distinct message, sorted alphabetically, with its count', () => {
    const s = buildSections([
      rec('INFO', at(1, 9), 'b message'), rec('INFO', at(1, 8), 'a message'), rec('INFO', at(1, 10), 'b message'),
      rec('INFO', at(1, 11), 'B upper first'), rec('WARN', at(1, 12), 'w'),
    ]);
    expect(s.INFO.map((r) => [r.message, r.count])).toEqual([['B upper first', 1], ['a message', 1], ['b message', 2]]);
    expect(s.WARN.map((r) => r.message)).toEqual(['w']);
  });

  it('details decide which times are shown; FIRSTLAST shows all of them under 2 occurrences', () => {
    const t = [at(1, 10), at(1, 8), at(1, 9)];
    const f = formatReportTime;
    expect(detailLines('ALL', t)).toEqual([f(t[1]!), f(t[2]!), f(t[0]!)]);
    expect(detailLines('NONE', t)).toEqual([]);
    expect(detailLines('FIRST', t)).toEqual([`From : ${f(t[1]!)}`]);
    expect(detailLines('LAST', t)).toEqual([`Until: ${f(t[0]!)}`]);
    expect(detailLines('FIRSTLAST', t)).toEqual([`From : ${f(t[1]!)}`, `Until: ${f(t[0]!)}`]);
    expect(detailLines('FIRSTLAST', [t[0]!])).toEqual([f(t[0]!)]);
  });

  it('the same message with different details gets one paragraph per details setting', () => {
    const s = buildSections([rec('WARN', at(1, 8), 'm', 'FIRST'), rec('WARN', at(1, 9), 'm', 'LAST'), rec('WARN', at(1, 10), 'm', 'FIRST')]);
    expect(s.WARN).toEqual([{ message: 'm', count: 3, paragraphs: [[`From : ${formatReportTime(at(1, 8))}`], [`Until: ${formatReportTime(at(1, 9))}`]] }]);
  });

  it('OTHER is a chronological "time: message" list', () => {
    const text = renderReportText([rec('OTHER', at(1, 12), 'second'), rec('OTHER', at(1, 7), 'first')], '2026-01-01');
    const lines = text.split('\n').filter((l) => l.startsWith('* '));
    expect(lines).toEqual([`* ${formatReportTime(at(1, 7))}: first`, `* ${formatReportTime(at(1, 12))}: second`]);
  });

  it('a flood of OTHER entries is listed up to a bound, the rest counted', () => {
    const records = Array.from({ length: 5003 }, (_, i) => rec('OTHER', at(1, 8) + i, `line ${i}`));
    const text = renderReportText(records, '2026-01-01');
    expect(text).toContain('* ' + formatReportTime(at(1, 8)) + ': line 4999');
    expect(text).not.toContain(': line 5000');
    expect(text).toContain('… and 3 more entries');
    expect(renderReportHtml(records, '2026-01-01')).toContain('… and 3 more entries');
  });

  it('a table of more distinct messages than its bound lists the first ones in sort order with exact counts, and says how many were folded', () => {
    // 3 × the bound, in reverse order of the rows kept, each message twice, plus one repeated row
    const n = 3 * TABLE_ROWS_MAX;
    const records: ReportRecord[] = [];
    for (let i = n - 1; i >= 0; i--) records.push(rec('WARN', at(1, 8) + i, `Banned 10.${String(i).padStart(6, '0')}`), rec('WARN', at(1, 9) + i, `Banned 10.${String(i).padStart(6, '0')}`));
    for (let i = 0; i < 5; i++) records.push(rec('WARN', at(1, 10) + i, 'Banned 10.000000'));
    const s = buildSections(records);
    expect(s.WARN).toHaveLength(TABLE_ROWS_MAX);
    expect(s.WARN[0]).toMatchObject({ message: 'Banned 10.000000', count: 7 });
    expect(s.WARN.slice(1).every((row) => row.count === 2)).toBe(true);
    expect(s.WARN[TABLE_ROWS_MAX - 1]!.message).toBe(`Banned 10.${String(TABLE_ROWS_MAX - 1).padStart(6, '0')}`);
    expect(s.totals.WARN).toEqual({ lines: n, events: 2 * n + 5, foldedLines: n - TABLE_ROWS_MAX, foldedEvents: 2 * (n - TABLE_ROWS_MAX) });
    const text = renderReportText(s, '2026-01-01');
    expect(text).toContain(`WARN: 6 000 messages (12 005 events)`);
    expect(text).toContain('… and 4 000 more messages, 8 000 events (6 000 messages, 12 005 events in all)');
    expect(renderReportHtml(s, '2026-01-01')).toContain('… and 4 000 more messages, 8 000 events (6 000 messages, 12 005 events in all)');
  });

  it('a message reported with every time lists the earliest ones up to a bound and counts the rest', () => {
    const times = Array.from({ length: ROW_TIMES_MAX + 30 }, (_, i) => at(1, 23) - i * 1_000_000);
    const lines = detailLines('ALL', times);
    expect(lines).toHaveLength(ROW_TIMES_MAX + 1);
    expect(lines[0]).toBe(formatReportTime(times[times.length - 1]!));
    expect(lines[ROW_TIMES_MAX]).toBe('… and 30 more times');
  });

  it('OTHER entries arriving out of order past the bound still list the earliest ones', () => {
    const count = 3 * OTHER_LINES_MAX;
    const records = Array.from({ length: count }, (_, i) => rec('OTHER', at(1, 8) + ((i * 7919) % count) * 1_000_000, `line ${(i * 7919) % count}`));
    const s = buildSections(records);
    expect(s.OTHER.map((l) => l.message)).toEqual(Array.from({ length: OTHER_LINES_MAX }, (_, i) => `line ${i}`));
    expect(renderReportText(s, '2026-01-01')).toContain('… and 10 000 more entries (15 000 in all)');
  });

  it('the HTML part has the counts per section, a 24-hour bar chart, and escaped messages', () => {
    const html = renderReportHtml([
      rec('WARN', at(1, 3), 'Banned <script>'), rec('INFO', at(1, 3), 'x'), rec('INFO', at(1, 3), 'x'), rec('OTHER', at(1, 22), 'o'),
    ], '2026-01-01');
    expect(html).toContain('1 messages, 1 events');
    expect(html).toContain('1 messages, 2 events');
    expect(html).toContain('1 entries');
    expect(html.match(/<td title="\d\d:00 \d+ events"/g)).toHaveLength(24);
    expect(html).toContain('title="03:00 3 events"');
    expect(html).toContain('title="22:00 1 events"');
    expect(html).toContain('Banned &lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/<img|<svg/);
  });
});

describe('report journal', () => {
  it('appends JSON lines in storage, read back by a new instance (a restart loses nothing)', () => {
    const dir = tmp();
    const journal = new ReportJournal(dir, true);
    journal.append(rec('INFO', at(1, 8), 'one'));
    journal.append(rec('OTHER', at(1, 9), 'two'));
    journal.flush();
    expect(readFileSync(journal.file, 'utf8').trim().split('\n')).toHaveLength(2);
    appendFileSync(journal.file, '{"level":"INFO","ti'); // a crash mid-write
    expect(new ReportJournal(dir, true).records().map((r) => r.message)).toEqual(['one', 'two']);
  });

  it('sending renders both parts, emails them, and starts a new report', async () => {
    const dir = tmp();
    const journal = new ReportJournal(dir, true);
    journal.append(rec('WARN', at(1, 8), 'w'));
    const mailer = memoryMailer();
    expect(await journal.send(mailer, 'Daily report')).toBe(1);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]!.subject).toBe('Daily report');
    expect(mailer.sent[0]!.text).toContain('= Peruse report for 2026-01-01');
    expect(mailer.sent[0]!.html).toContain('<h1');
    expect(journal.records()).toEqual([]);
    expect(existsSync(journal.sentFile)).toBe(true);
  });

  it('a report journal is streamed: records spanning read chunks, a torn line and a line longer than a chunk are read as written', () => {
    const dir = tmp();
    const journal = new ReportJournal(dir, true);
    const long = 'x'.repeat(3 << 20);
    for (let i = 0; i < 30_000; i++) journal.append(rec('INFO', at(1, 8) + i, `line ${i}`));
    journal.append(rec('OTHER', at(1, 9), long));
    journal.flush();
    appendFileSync(journal.file, '{"level":"INFO","ti\n'); // a crash mid-write, then appends go on
    journal.append(rec('WARN', at(1, 10), 'after the torn line'));
    journal.flush();
    const s = journal.sections();
    expect(s.records).toBe(30_002);
    expect(s.totals.INFO.lines).toBe(30_000);
    expect(s.OTHER[0]!.message).toBe(long);
    expect(s.WARN.map((r) => r.message)).toEqual(['after the torn line']);
  });

  it('without file writing (dry-run) nothing touches the storage', () => {
    const dir = tmp();
    const journal = new ReportJournal(dir, false);
    journal.append(rec('INFO', at(1, 8), 'kept in memory'));
    journal.flush();
    expect(existsSync(journal.file)).toBe(false);
    expect(journal.records().map((r) => r.message)).toEqual(['kept in memory']);
  });
});

describe('action_dailyReport', () => {
  it('an entry past local midnight (event time) sends the previous day and starts the new one', async () => {
    const dir = tmp();
    const mailer = memoryMailer();
    const ctx = fakeContext({ state: new State({ storage: dir, persist: true }), mailer });
    const action = dailyReport.create({ level: 'INFO', message: 'login {user}', details: 'NONE' }, ctx);
    action.act({ user: 'alice', __REALTIME_TIMESTAMP: at(1, 23, 59) });
    action.act({ user: 'bob', __REALTIME_TIMESTAMP: at(1, 23, 59, 30) });
    expect(mailer.sent).toHaveLength(0);
    action.act({ user: 'carol', __REALTIME_TIMESTAMP: at(2, 0, 0, 1) });
    // the report is read after the entry went on
    await vi.waitFor(() => expect(mailer.sent).toHaveLength(1));
    expect(mailer.sent[0]!.text).toContain('login alice');
    expect(mailer.sent[0]!.text).not.toContain('login carol');
    expect(ctx.state.report.records().map((r) => r.message)).toEqual(['login carol']);
  });

  it('in dry-run the line is described as an effect and no file is written', () => {
    const dir = tmp();
    const effects: string[] = [];
    const ctx = fakeContext({ state: new State({ storage: dir, persist: false }), dryRun: true, effect: (e) => effects.push(e) });
    dailyReport.create({ level: 'WARN', message: 'Banned {ip}' }, ctx).act({ ip: '1.2.3.4', __REALTIME_TIMESTAMP: at(1, 8) });
    expect(effects).toEqual(['would add to the daily report: WARN: Banned 1.2.3.4']);
    expect(existsSync(path.join(dir, 'peruse.report.jsonl'))).toBe(false);
  });

  it('a bad template is a config error', () => {
    expect(() => dailyReport.create({ level: 'INFO', message: 'oops {' }, fakeContext())).toThrow(/E_BAD_TEMPLATE|unclosed/);
  });
});

describe('midnight timer', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('sends yesterday\'s report shortly after local midnight, even on a quiet day', async () => {
    vi.useFakeTimers();
    let now = at(1, 23, 0);
    vi.setSystemTime(now / 1000);
    const journal = new ReportJournal(tmp(), true);
    journal.append(rec('INFO', at(1, 22), 'evening'));
    const mailer = memoryMailer();
    const schedule = scheduleDailyReport({ journal, mailer, subject: 'Daily', onError: (e) => { throw e; }, now: () => now });
    now = at(1, 23, 59);
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    expect(mailer.sent).toHaveLength(0);
    now = at(2, 0, 0, 2);
    await vi.advanceTimersByTimeAsync(62_000);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]!.text).toContain('evening');
    // an entry of the day before, arriving late (journal lag), joins the new report: no extra email
    expect(journal.isDueAt(at(1, 23, 59, 59))).toBe(false);
    journal.append(rec('INFO', at(1, 23, 59, 59), 'late'));
    expect(journal.isDueAt(at(2, 0, 0, 3))).toBe(false);
    schedule.stop();
  });
});
