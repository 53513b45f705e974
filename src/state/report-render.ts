import type { ReportDetails, ReportLevel, ReportRecord } from './report.js';

/** One row of a WARN or INFO table: a distinct message. */
export interface ReportRow {
  message: string;
  count: number;
  /** One paragraph per `details` setting the message was reported with, in order of appearance. */
  paragraphs: string[][];
}

export interface ReportSections {
  WARN: ReportRow[];
  INFO: ReportRow[];
  /** Chronological `time: message` lines. */
  OTHER: { time: number; message: string }[];
  /** Events per local hour of the day, per level. */
  perHour: Record<ReportLevel, number[]>;
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
  return Number.isFinite(first) ? formatReportTime(first).slice(0, 10) : formatReportTime(Date.now() * 1000).slice(0, 10);
}

/** The times shown for one message reported with one `details` setting (Pyruse's rules). */
export function detailLines(details: ReportDetails, times: readonly number[]): string[] {
  const sorted = [...times].sort((a, b) => a - b);
  const all = () => sorted.map(formatReportTime);
  switch (details) {
    case 'NONE': return [];
    case 'FIRST': return [`From : ${formatReportTime(sorted[0]!)}`];
    case 'LAST': return [`Until: ${formatReportTime(sorted[sorted.length - 1]!)}`];
    // Pyruse compat: FIRSTLAST shows every time when there are fewer than 2 occurrences
    case 'FIRSTLAST': return sorted.length < 2 ? all() : [`From : ${formatReportTime(sorted[0]!)}`, `Until: ${formatReportTime(sorted[sorted.length - 1]!)}`];
    default: return all();
  }
}

/** Groups the records into the three sections. */
export function buildSections(records: readonly ReportRecord[]): ReportSections {
  const tables: Record<'WARN' | 'INFO', Map<string, Map<ReportDetails, number[]>>> = { WARN: new Map(), INFO: new Map() };
  const other: { time: number; message: string }[] = [];
  const perHour: Record<ReportLevel, number[]> = { WARN: new Array(24).fill(0), INFO: new Array(24).fill(0), OTHER: new Array(24).fill(0) };
  for (const record of records) {
    perHour[record.level][new Date(Math.floor(record.time / 1000)).getHours()]!++;
    if (record.level === 'OTHER') { other.push({ time: record.time, message: record.message }); continue; }
    const byDetails = tables[record.level];
    let times = byDetails.get(record.message);
    if (!times) { times = new Map(); byDetails.set(record.message, times); }
    let list = times.get(record.details);
    if (!list) { list = []; times.set(record.details, list); }
    list.push(record.time);
  }
  const rows = (table: Map<string, Map<ReportDetails, number[]>>): ReportRow[] =>
    // Pyruse compat: rows sorted by message, in code point order (Python's sorted())
    [...table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((message) => {
      const byDetails = table.get(message)!;
      let count = 0;
      const paragraphs: string[][] = [];
      for (const [details, times] of byDetails) {
        count += times.length;
        const lines = detailLines(details, times);
        if (lines.length > 0) paragraphs.push(lines);
      }
      return { message, count, paragraphs };
    });
  other.sort((a, b) => a.time - b.time);
  return { WARN: rows(tables.WARN), INFO: rows(tables.INFO), OTHER: other, perHour };
}

const TITLES: Record<ReportLevel, string> = {
  WARN: 'WARN: to review',
  INFO: 'INFO: notable facts',
  OTHER: 'OTHER: unexpected entries',
};

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** The text part: AsciiDoc, as Pyruse's report. */
export function renderReportText(records: readonly ReportRecord[], day: string): string {
  const s = buildSections(records);
  const out: string[] = [`= Peruse report for ${day}`, ''];
  out.push(`WARN: ${s.WARN.length} messages (${sum(s.perHour.WARN)} events), INFO: ${s.INFO.length} messages (${sum(s.perHour.INFO)} events), OTHER: ${s.OTHER.length} entries`, '');
  for (const level of ['WARN', 'INFO'] as const) {
    out.push(`== ${TITLES[level]}`, '');
    if (s[level].length === 0) { out.push('(none)', ''); continue; }
    out.push('[cols="1,8,3",options="header"]', '|===', '|Count |Message |Date+time', '');
    for (const row of s[level]) {
      out.push(`|${row.count}`, `|${row.message.replace(/\|/g, '\\|')}`, `|${row.paragraphs.map((p) => p.join(' +\n')).join('\n\n')}`, '');
    }
    out.push('|===', '');
  }
  out.push(`== ${TITLES.OTHER}`, '');
  if (s.OTHER.length === 0) out.push('(none)');
  for (const line of s.OTHER.slice(0, OTHER_LINES_MAX)) out.push(`* ${formatReportTime(line.time)}: ${line.message}`);
  if (s.OTHER.length > OTHER_LINES_MAX) out.push(`* ${otherOmitted(s.OTHER.length)}`);
  out.push('');
  return out.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS: Record<ReportLevel, string> = { WARN: '#c0392b', INFO: '#2e6da4', OTHER: '#8e8e8e' };
const CHART_HEIGHT_PX = 90;
/** An email stays readable: beyond this, OTHER lines are counted, not listed (the journal keeps them all). */
export const OTHER_LINES_MAX = 5000;

function otherOmitted(total: number): string {
  return `… and ${total - OTHER_LINES_MAX} more entries (see the report journal in the storage directory)`;
}

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
export function renderReportHtml(records: readonly ReportRecord[], day: string): string {
  const s = buildSections(records);
  const counts: [ReportLevel, string][] = [
    ['WARN', `${s.WARN.length} messages, ${sum(s.perHour.WARN)} events`],
    ['INFO', `${s.INFO.length} messages, ${sum(s.perHour.INFO)} events`],
    ['OTHER', `${s.OTHER.length} entries`],
  ];
  const out: string[] = [
    '<!DOCTYPE html>', '<html><head><meta charset="utf-8">', `<title>Peruse report for ${escapeHtml(day)}</title></head>`,
    '<body style="font-family:Helvetica,Arial,sans-serif;color:#222;margin:0;padding:16px">',
    `<h1 style="font-size:20px;margin:0 0 12px">Peruse report for ${escapeHtml(day)}</h1>`,
    '<table role="presentation" cellspacing="0" cellpadding="0" style="margin-bottom:16px"><tr>',
    ...counts.map(([level, text]) => `<td style="padding:6px 12px;border-left:4px solid ${COLORS[level]};background:#f6f6f6"><a href="#${level}" style="color:#222;text-decoration:none"><b>${level}</b><br><span style="font-size:13px">${text}</span></a></td><td style="width:8px"></td>`),
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
  }
  out.push(`<h2 id="OTHER" style="font-size:16px;margin:20px 0 6px;color:${COLORS.OTHER}">${TITLES.OTHER}</h2>`);
  if (s.OTHER.length === 0) out.push('<p style="color:#666">(none)</p>');
  else {
    out.push('<ul style="font-family:Menlo,Consolas,monospace;font-size:12px;padding-left:18px">');
    for (const line of s.OTHER.slice(0, OTHER_LINES_MAX)) out.push(`<li><span style="color:#666">${formatReportTime(line.time)}</span>: ${escapeHtml(line.message)}</li>`);
    if (s.OTHER.length > OTHER_LINES_MAX) out.push(`<li><i>${escapeHtml(otherOmitted(s.OTHER.length))}</i></li>`);
    out.push('</ul>');
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
