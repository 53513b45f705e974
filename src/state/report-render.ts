import type { ReportDetails, ReportLevel, ReportRecord } from './report.js';

const LEVELS = ['WARN', 'INFO', 'OTHER'] as const;

/** One row of a WARN or INFO table: a distinct message. */
export interface ReportRow {
  message: string;
  count: number;
  /** One paragraph per `details` setting the message was reported with, in order of appearance. */
  paragraphs: string[][];
}

/** Exact totals of a section, and what of it is not listed (beyond the row or line bound). */
export interface SectionTotals {
  /** Distinct messages (WARN, INFO) or entries (OTHER). */
  lines: number;
  events: number;
  /** Lines not listed, and the events they stand for. */
  foldedLines: number;
  foldedEvents: number;
  /** More distinct messages than DistinctCounter tracks: `lines` (and so `foldedLines`) is a lower bound. */
  linesAtLeast?: boolean;
}

export interface ReportSections {
  WARN: ReportRow[];
  INFO: ReportRow[];
  /** Chronological `time: message` lines. */
  OTHER: { time: number; message: string }[];
  /** Events per local hour of the day, per level. */
  perHour: Record<ReportLevel, number[]>;
  totals: Record<ReportLevel, SectionTotals>;
  /** Time (µs) of the earliest record; undefined for an empty report. */
  firstTime: number | undefined;
  records: number;
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Local `YYYY-MM-DD hh:mm:ss`. */
export function formatReportTime(micros: number): string {
  const d = new Date(Math.floor(micros / 1000));
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The local date of the report's first record, `YYYY-MM-DD`. */
export function reportDay(records: readonly ReportRecord[]): string {
  const first = records.reduce((min, r) => Math.min(min, r.time), Infinity);
  return dayOf(Number.isFinite(first) ? first : undefined);
}

/** The local date of `firstTime` (today for an empty report). */
export function dayOf(firstTime: number | undefined): string {
  return formatReportTime(firstTime ?? Date.now() * 1000).slice(0, 10);
}

/** The times shown for one message reported with one `details` setting (Pyruse's rules). */
export function detailLines(details: ReportDetails, times: readonly number[]): string[] {
  const sample = new TimeSample(details === 'ALL');
  for (const time of times) sample.add(time);
  return sample.lines(details);
}

/**
 * Bounds of a report built in bounded memory (an attack by tens of thousands of addresses makes
 * one row each): the email lists this many rows per table, OTHER lines, and times per row; the
 * rest is counted exactly and said in one line. The report journal keeps every record.
 */
export const TABLE_ROWS_MAX = 2000;
export const OTHER_LINES_MAX = 5000;
export const ROW_TIMES_MAX = 50;

/** The times of one message with one `details` setting: count, first, last, and the earliest few. */
class TimeSample {
  count = 0;
  min = Infinity;
  max = -Infinity;
  private earliest: number[] | undefined;

  constructor(keepTimes: boolean) {
    if (keepTimes) this.earliest = [];
  }

  add(time: number): void {
    this.count++;
    if (time < this.min) this.min = time;
    if (time > this.max) this.max = time;
    const earliest = this.earliest;
    if (earliest === undefined) return;
    earliest.push(time);
    if (earliest.length >= 2 * ROW_TIMES_MAX) {
      earliest.sort((a, b) => a - b);
      earliest.length = ROW_TIMES_MAX;
    }
  }

  lines(details: ReportDetails): string[] {
    switch (details) {
      case 'NONE': return [];
      case 'FIRST': return [`From : ${formatReportTime(this.min)}`];
      case 'LAST': return [`Until: ${formatReportTime(this.max)}`];
      // Pyruse compat: FIRSTLAST shows every time when there are fewer than 2 occurrences
      case 'FIRSTLAST': return this.count < 2 ? [formatReportTime(this.min)] : [`From : ${formatReportTime(this.min)}`, `Until: ${formatReportTime(this.max)}`];
      default: {
        const shown = [...(this.earliest ?? [])].sort((a, b) => a - b).slice(0, ROW_TIMES_MAX).map(formatReportTime);
        if (this.count > shown.length) shown.push(`… and ${this.count - shown.length} more times`);
        return shown;
      }
    }
  }
}

/**
 * Counts distinct messages in a fixed memory budget: a 52-bit hash of each in an open-addressing
 * table (a collision among a million messages has odds below 1 in 10 000). Past `MAX_SLOTS`
 * at 3/4 load it stops counting and `saturated` says the count is a lower bound.
 */
class DistinctCounter {
  private static readonly MAX_SLOTS = 1 << 20;
  private slots = new Float64Array(1 << 10);
  size = 0;
  saturated = false;

  add(text: string): void {
    if (this.saturated) return;
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    // +1: 0 marks an empty slot
    const hash = (b >>> 12) * 0x1_0000_0000 + (a >>> 0) + 1;
    if (!this.insert(this.slots, hash)) return;
    this.size++;
    if (this.size * 4 >= this.slots.length * 3) this.grow();
  }

  private insert(slots: Float64Array, hash: number): boolean {
    const mask = slots.length - 1;
    for (let i = hash % slots.length; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === hash) return false;
      if (slot === 0) { slots[i] = hash; return true; }
    }
  }

  private grow(): void {
    if (this.slots.length >= DistinctCounter.MAX_SLOTS) { this.saturated = true; return; }
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2);
    for (const hash of old) if (hash !== 0) this.insert(this.slots, hash);
  }
}

/** Pyruse compat: rows sorted by message, in code point order (Python's sorted()). */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One WARN or INFO table built record by record: exact counts for every message it lists, which
 * are the first TABLE_ROWS_MAX in sort order. Once more messages than that were seen, a message
 * sorting after the last one kept can never be listed: it is only counted.
 */
class TableBuilder {
  private rows = new Map<string, Map<ReportDetails, TimeSample>>();
  /** Messages sorting after this one are not listed (undefined: no bound reached yet). */
  private cutoff: string | undefined;
  private readonly distinct = new DistinctCounter();
  events = 0;

  add(record: ReportRecord): void {
    this.events++;
    this.distinct.add(record.message);
    if (this.cutoff !== undefined && record.message > this.cutoff) return;
    let byDetails = this.rows.get(record.message);
    if (!byDetails) {
      byDetails = new Map();
      this.rows.set(record.message, byDetails);
      if (this.rows.size >= 2 * TABLE_ROWS_MAX) this.prune();
    }
    let sample = byDetails.get(record.details);
    if (!sample) { sample = new TimeSample(record.details === 'ALL'); byDetails.set(record.details, sample); }
    sample.add(record.time);
  }

  private prune(): void {
    const kept = [...this.rows.keys()].sort(byCodePoint).slice(0, TABLE_ROWS_MAX);
    this.cutoff = kept[kept.length - 1];
    const rows = new Map<string, Map<ReportDetails, TimeSample>>();
    for (const message of kept) rows.set(message, this.rows.get(message)!);
    this.rows = rows;
  }

  finish(): { rows: ReportRow[]; totals: SectionTotals } {
    const rows = [...this.rows.keys()].sort(byCodePoint).slice(0, TABLE_ROWS_MAX).map((message) => {
      let count = 0;
      const paragraphs: string[][] = [];
      for (const [details, sample] of this.rows.get(message)!) {
        count += sample.count;
        const lines = sample.lines(details);
        if (lines.length > 0) paragraphs.push(lines);
      }
      return { message, count, paragraphs };
    });
    const listedEvents = rows.reduce((total, row) => total + row.count, 0);
    const lines = Math.max(this.distinct.size, rows.length);
    const totals: SectionTotals = { lines, events: this.events, foldedLines: lines - rows.length, foldedEvents: this.events - listedEvents };
    if (this.distinct.saturated) totals.linesAtLeast = true;
    return { rows, totals };
  }
}

/**
 * The three sections built record by record in bounded memory (a streamed report journal):
 * totals and per-hour counts exact, lists bounded (TABLE_ROWS_MAX, OTHER_LINES_MAX, ROW_TIMES_MAX).
 */
export class ReportBuilder {
  private readonly tables = { WARN: new TableBuilder(), INFO: new TableBuilder() };
  private other: { time: number; message: string }[] = [];
  /** OTHER lines at or after this time are not listed (the earliest OTHER_LINES_MAX are). */
  private otherCutoff = Infinity;
  private otherCount = 0;
  private readonly perHour: Record<ReportLevel, number[]> = { WARN: new Array(24).fill(0), INFO: new Array(24).fill(0), OTHER: new Array(24).fill(0) };
  private firstTime: number | undefined;
  records = 0;

  add(record: ReportRecord): void {
    this.records++;
    if (this.firstTime === undefined || record.time < this.firstTime) this.firstTime = record.time;
    this.perHour[record.level][new Date(Math.floor(record.time / 1000)).getHours()]!++;
    if (record.level !== 'OTHER') { this.tables[record.level].add(record); return; }
    this.otherCount++;
    // a later line with the same time sorts after the kept ones (stable order): not listed either
    if (record.time >= this.otherCutoff) return;
    this.other.push({ time: record.time, message: record.message });
    if (this.other.length >= 2 * OTHER_LINES_MAX) {
      this.other.sort((a, b) => a.time - b.time);
      this.other.length = OTHER_LINES_MAX;
      this.otherCutoff = this.other[OTHER_LINES_MAX - 1]!.time;
    }
  }

  finish(): ReportSections {
    const warn = this.tables.WARN.finish();
    const info = this.tables.INFO.finish();
    const other = this.other.sort((a, b) => a.time - b.time).slice(0, OTHER_LINES_MAX);
    const folded = this.otherCount - other.length;
    return {
      WARN: warn.rows, INFO: info.rows, OTHER: other, perHour: this.perHour,
      totals: { WARN: warn.totals, INFO: info.totals, OTHER: { lines: this.otherCount, events: this.otherCount, foldedLines: folded, foldedEvents: folded } },
      firstTime: this.firstTime, records: this.records,
    };
  }
}

/** Groups the records into the three sections. */
export function buildSections(records: Iterable<ReportRecord>): ReportSections {
  const builder = new ReportBuilder();
  for (const record of records) builder.add(record);
  return builder.finish();
}

const TITLES: Record<ReportLevel, string> = {
  WARN: 'WARN: to review',
  INFO: 'INFO: notable facts',
  OTHER: 'OTHER: unexpected entries',
};

/** Sections of already built ones, or of records (tests, dry-run). */
function sectionsOf(input: ReportSections | Iterable<ReportRecord>): ReportSections {
  return 'perHour' in input ? input : buildSections(input);
}

/** 120278 → "120 278": the grouping an admin reads at a glance, in any locale. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** The line closing a list cut at its bound; undefined when nothing was left out. */
export function foldLine(level: ReportLevel, totals: SectionTotals): string | undefined {
  if (totals.foldedLines === 0) return undefined;
  if (level === 'OTHER') return `… and ${groupDigits(totals.foldedLines)} more entries (${groupDigits(totals.lines)} in all)`;
  const atLeast = totals.linesAtLeast ? 'at least ' : '';
  return `… and ${atLeast}${groupDigits(totals.foldedLines)} more messages, ${groupDigits(totals.foldedEvents)} events (${atLeast}${groupDigits(totals.lines)} messages, ${groupDigits(totals.events)} events in all)`;
}

function sectionCounts(s: ReportSections, level: ReportLevel, separator: string): string {
  const t = s.totals[level];
  return level === 'OTHER' ? `${groupDigits(t.lines)} entries` : `${t.linesAtLeast ? 'at least ' : ''}${groupDigits(t.lines)} messages${separator}${groupDigits(t.events)} events`;
}

/** The text part: AsciiDoc, as Pyruse's report. */
export function renderReportText(input: ReportSections | Iterable<ReportRecord>, day: string): string {
  const s = sectionsOf(input);
  const out: string[] = [`= Peruse report for ${day}`, ''];
  out.push(`WARN: ${sectionCounts(s, 'WARN', ' (')}), INFO: ${sectionCounts(s, 'INFO', ' (')}), OTHER: ${sectionCounts(s, 'OTHER', '')}`, '');
  for (const level of ['WARN', 'INFO'] as const) {
    out.push(`== ${TITLES[level]}`, '');
    if (s[level].length === 0) { out.push('(none)', ''); continue; }
    out.push('[cols="1,8,3",options="header"]', '|===', '|Count |Message |Date+time', '');
    for (const row of s[level]) {
      out.push(`|${row.count}`, `|${row.message.replace(/\|/g, '\\|')}`, `|${row.paragraphs.map((p) => p.join(' +\n')).join('\n\n')}`, '');
    }
    out.push('|===', '');
    const fold = foldLine(level, s.totals[level]);
    if (fold) out.push(fold, '');
  }
  out.push(`== ${TITLES.OTHER}`, '');
  if (s.OTHER.length === 0) out.push('(none)');
  for (const line of s.OTHER) out.push(`* ${formatReportTime(line.time)}: ${line.message}`);
  const fold = foldLine('OTHER', s.totals.OTHER);
  if (fold) out.push(`* ${fold}`);
  out.push('');
  return out.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS: Record<ReportLevel, string> = { WARN: '#c0392b', INFO: '#2e6da4', OTHER: '#8e8e8e' };
const CHART_HEIGHT_PX = 90;
/** Events per hour as a stacked bar chart of table cells and divs: renders in mail clients, no images. */
function hourChart(perHour: Record<ReportLevel, number[]>): string {
  let max = 1;
  for (let h = 0; h < 24; h++) max = Math.max(max, perHour.WARN[h]! + perHour.INFO[h]! + perHour.OTHER[h]!);
  const bars: string[] = [];
  const labels: string[] = [];
  for (let h = 0; h < 24; h++) {
    const total = perHour.WARN[h]! + perHour.INFO[h]! + perHour.OTHER[h]!;
    const segments = (['OTHER', 'INFO', 'WARN'] as const)
      .filter((level) => perHour[level][h]! > 0)
      .map((level) => {
        const height = Math.max(1, Math.round((perHour[level][h]! / max) * CHART_HEIGHT_PX));
        return `<div style="height:${height}px;background:${COLORS[level]};font-size:0;line-height:0">&nbsp;</div>`;
      })
      .join('');
    bars.push(`<td title="${two(h)}:00 ${total} events" style="vertical-align:bottom;width:22px;padding:0 1px;height:${CHART_HEIGHT_PX}px">${segments}</td>`);
    labels.push(`<td style="font-size:10px;color:#666;text-align:center;padding:2px 0">${two(h)}</td>`);
  }
  return `<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse;border-bottom:1px solid #ccc"><tr>${bars.join('')}</tr><tr>${labels.join('')}</tr></table>`
    + `<p style="font-size:12px;color:#666;margin:4px 0 0">${(['WARN', 'INFO', 'OTHER'] as const).map((l) => `<span style="color:${COLORS[l]}">&#9632;</span> ${l}`).join(' &nbsp; ')} &nbsp; (highest hour: ${max} events)</p>`;
}

const CELL = 'style="border:1px solid #ddd;padding:4px 8px;vertical-align:top"';

/** The HTML part: a header with counts per section, the per-hour chart, then the tables. */
export function renderReportHtml(input: ReportSections | Iterable<ReportRecord>, day: string): string {
  const s = sectionsOf(input);
  const out: string[] = [
    '<!DOCTYPE html>', '<html><head><meta charset="utf-8">', `<title>Peruse report for ${escapeHtml(day)}</title></head>`,
    '<body style="font-family:Helvetica,Arial,sans-serif;color:#222;margin:0;padding:16px">',
    `<h1 style="font-size:20px;margin:0 0 12px">Peruse report for ${escapeHtml(day)}</h1>`,
    '<table role="presentation" cellspacing="0" cellpadding="0" style="margin-bottom:16px"><tr>',
    ...LEVELS.map((level) => `<td style="padding:6px 12px;border-left:4px solid ${COLORS[level]};background:#f6f6f6"><a href="#${level}" style="color:#222;text-decoration:none"><b>${level}</b><br><span style="font-size:13px">${sectionCounts(s, level, ', ')}</span></a></td><td style="width:8px"></td>`),
    '</tr></table>',
    '<h2 style="font-size:16px;margin:16px 0 6px">Events per hour</h2>',
    hourChart(s.perHour),
  ];
  for (const level of ['WARN', 'INFO'] as const) {
    out.push(`<h2 id="${level}" style="font-size:16px;margin:20px 0 6px;color:${COLORS[level]}">${TITLES[level]}</h2>`);
    if (s[level].length === 0) { out.push('<p style="color:#666">(none)</p>'); continue; }
    out.push('<table cellspacing="0" cellpadding="0" style="border-collapse:collapse;font-size:13px">',
      `<tr><th ${CELL}>Count</th><th ${CELL}>Message</th><th ${CELL}>Date+time</th></tr>`);
    for (const row of s[level]) {
      const times = row.paragraphs.map((p) => `<p style="margin:0 0 4px;white-space:nowrap">${p.map(escapeHtml).join('<br>')}</p>`).join('');
      out.push(`<tr><td ${CELL} align="right">${row.count}</td><td ${CELL}>${escapeHtml(row.message)}</td><td ${CELL}>${times}</td></tr>`);
    }
    out.push('</table>');
    const fold = foldLine(level, s.totals[level]);
    if (fold) out.push(`<p style="font-size:13px"><i>${escapeHtml(fold)}</i></p>`);
  }
  out.push(`<h2 id="OTHER" style="font-size:16px;margin:20px 0 6px;color:${COLORS.OTHER}">${TITLES.OTHER}</h2>`);
  if (s.OTHER.length === 0) out.push('<p style="color:#666">(none)</p>');
  else {
    out.push('<ul style="font-family:Menlo,Consolas,monospace;font-size:12px;padding-left:18px">');
    for (const line of s.OTHER) out.push(`<li><span style="color:#666">${formatReportTime(line.time)}</span>: ${escapeHtml(line.message)}</li>`);
    const fold = foldLine('OTHER', s.totals.OTHER);
    if (fold) out.push(`<li><i>${escapeHtml(fold)}</i></li>`);
    out.push('</ul>');
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
