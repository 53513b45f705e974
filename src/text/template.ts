import { ConfigError } from '../config/errors.js';
import { JOURNAL_UUID_FIELDS, uuidText } from '../journal/fields.js';
import { pythonDatetimeRepr, pythonStringRepr, pythonTimedeltaRepr, pythonTimedeltaStr } from './python-repr.js';

/** Fields whose number is a point in time (µs) and renders as a date. */
const TIMESTAMP_FIELDS = new Set(['__REALTIME_TIMESTAMP', '_SOURCE_REALTIME_TIMESTAMP', 'COREDUMP_TIMESTAMP']);
/** Fields whose number is a duration (µs): python-systemd makes it a timedelta. */
const DURATION_FIELDS = new Set(['_SOURCE_MONOTONIC_TIMESTAMP']);

export interface Template {
  readonly source: string;
  /** Field names the template reads. */
  readonly fields: readonly string[];
  render(entry: Record<string, unknown>): string;
}

interface FormatSpec {
  fill: string;
  align: '' | '<' | '>' | '^' | '=';
  sign: '' | '+' | '-' | ' ';
  alternate: boolean;
  width: number;
  grouping: '' | ',' | '_';
  precision: number;
  type: string;
}

type Part = string | { field: string; conversion: '' | 's' | 'r' | 'a'; spec: FormatSpec | undefined; strftime?: string };

const SPEC_RE = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/su;

function parseSpec(spec: string, template: string, subPath: string): FormatSpec {
  const m = SPEC_RE.exec(spec);
  if (!m) throw new ConfigError('E_BAD_TEMPLATE', `invalid format spec ":${spec}" in template ${JSON.stringify(template)}`, subPath);
  const zeroPad = m[6] === '0';
  return {
    fill: m[1] ?? (zeroPad && !m[2] ? '0' : ' '),
    align: (m[2] as FormatSpec['align']) ?? (zeroPad ? '=' : ''),
    sign: (m[3] as FormatSpec['sign']) ?? '',
    alternate: m[5] === '#',
    width: m[7] ? Number(m[7]) : 0,
    grouping: (m[8] as FormatSpec['grouping']) ?? '',
    precision: m[9] !== undefined ? Number(m[9]) : -1,
    type: m[10] ?? '',
  };
}

/** Parses a Python `str.format` template; a syntax error is a config error (`E_BAD_TEMPLATE`). */
export function compileTemplate(source: string, argsSubPath = 'message'): Template {
  const parts: Part[] = [];
  const fields: string[] = [];
  let literal = '';
  const fail = (why: string): never => {
    throw new ConfigError('E_BAD_TEMPLATE', `${why} in template ${JSON.stringify(source)} (write {{ and }} for literal braces)`, argsSubPath);
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '}') {
      if (source[i + 1] !== '}') fail(`single "}" at character ${i + 1}`);
      literal += '}';
      i++;
      continue;
    }
    if (c !== '{') { literal += c; continue; }
    if (source[i + 1] === '{') { literal += '{'; i++; continue; }
    const end = source.indexOf('}', i + 1);
    if (end < 0) fail(`unclosed "{" at character ${i + 1}`);
    const body = source.slice(i + 1, end);
    if (body.includes('{')) fail(`nested "{" at character ${i + 1}`);
    const colon = body.indexOf(':');
    const head = colon < 0 ? body : body.slice(0, colon);
    const specText = colon < 0 ? undefined : body.slice(colon + 1);
    const bang = head.indexOf('!');
    const field = bang < 0 ? head : head.slice(0, bang);
    const conversion = bang < 0 ? '' : head.slice(bang + 1);
    if (field === '') fail(`empty field name "{}" at character ${i + 1} (Pyruse fills templates by name only)`);
    if (conversion !== '' && conversion !== 's' && conversion !== 'r' && conversion !== 'a') fail(`unknown conversion "!${conversion}"`);
    if (literal) { parts.push(literal); literal = ''; }
    // Pyruse compat: a timestamp field is a Python datetime there, whose format spec is a strftime format
    if (TIMESTAMP_FIELDS.has(field) && conversion === '' && specText) parts.push({ field, conversion: '', spec: undefined, strftime: specText });
    else parts.push({ field, conversion: conversion as '' | 's' | 'r' | 'a', spec: specText === undefined || specText === '' ? undefined : parseSpec(specText, source, argsSubPath) });
    if (!fields.includes(field)) fields.push(field);
    i = end;
  }
  if (literal) parts.push(literal);

  if (parts.length === 1 && typeof parts[0] === 'string') {
    const constant = parts[0];
    return { source, fields, render: () => constant };
  }
  return {
    source,
    fields,
    render(entry) {
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') { out += part; continue; }
        const value = entry[part.field];
        if (part.strftime !== undefined && typeof value === 'number') out += strftime(value, part.strftime);
        else out += renderValue(part.field, value, part.conversion, part.spec);
      }
      return out;
    },
  };
}

function pythonStr(field: string, value: unknown): string {
  // Pyruse compat: a missing field renders as Python's None
  if (value === undefined || value === null) return 'None';
  if (typeof value === 'string') {
    // Pyruse compat: python-systemd makes these a UUID, whose str() is the dashed form
    if (JOURNAL_UUID_FIELDS.has(field)) return uuidText(value) ?? value;
    return value;
  }
  if (typeof value === 'number') {
    if (TIMESTAMP_FIELDS.has(field)) return formatTimestamp(value);
    if (DURATION_FIELDS.has(field)) return pythonTimedeltaStr(value);
    return Number.isInteger(value) ? String(value) : pythonFloatStr(value);
  }
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return JSON.stringify(value);
}

/** Python's repr() (or ascii()) of a field value, typed as python-systemd types it. */
function pythonRepr(field: string, value: unknown, asciiOnly: boolean): string {
  if (typeof value === 'string') {
    const uuid = JOURNAL_UUID_FIELDS.has(field) ? uuidText(value) : undefined;
    return uuid !== undefined ? `UUID('${uuid}')` : pythonStringRepr(value, asciiOnly);
  }
  if (typeof value === 'number') {
    if (TIMESTAMP_FIELDS.has(field)) return pythonDatetimeRepr(value);
    if (DURATION_FIELDS.has(field)) return pythonTimedeltaRepr(value);
  }
  return pythonStr(field, value);
}

function pythonFloatStr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return String(value);
}

function renderValue(field: string, value: unknown, conversion: string, spec: FormatSpec | undefined): string {
  if (conversion === 'r' || conversion === 'a') {
    const text = pythonRepr(field, value, conversion === 'a');
    return spec ? pad(text, spec, '<') : text;
  }
  if (!spec) return pythonStr(field, value);
  // Python applies numeric specs to numbers only; a numeric-looking string gets the same treatment
  // rather than an exception, so one odd log line never loses an email.
  let numeric: number | undefined;
  if (typeof value === 'number' && !TIMESTAMP_FIELDS.has(field)) numeric = value;
  else if (typeof value === 'string' && 'bcdeEfFgGnoxX%'.includes(spec.type || '_') && value.trim() !== '' && Number.isFinite(Number(value))) numeric = Number(value);
  if (conversion === '' && numeric !== undefined && spec.type !== 's') return formatNumber(numeric, spec);
  let text = conversion === 's' ? pythonStr(field, value) : pythonStr(field, value);
  if (spec.precision >= 0) text = [...text].slice(0, spec.precision).join('');
  return pad(text, spec, '<');
}

function pad(text: string, spec: FormatSpec, defaultAlign: '<' | '>'): string {
  const length = [...text].length;
  if (length >= spec.width) return text;
  const room = spec.width - length;
  const align = spec.align || defaultAlign;
  const fill = spec.fill;
  if (align === '<') return text + fill.repeat(room);
  if (align === '>' || align === '=') return fill.repeat(room) + text;
  const left = Math.floor(room / 2);
  return fill.repeat(left) + text + fill.repeat(room - left);
}

function group(digits: string, separator: string, size: number): string {
  if (!separator) return digits;
  let out = '';
  for (let i = digits.length; i > 0; i -= size) out = digits.slice(Math.max(0, i - size), i) + (out ? separator + out : '');
  return out;
}

function formatNumber(value: number, spec: FormatSpec): string {
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  let type = spec.type;
  let body: string;
  let prefix = '';
  if ('bdoxXnc'.includes(type) && type !== '' && !Number.isInteger(value)) type = type === 'd' || type === 'n' ? 'f' : type;
  switch (type) {
    case 'b': body = Math.trunc(magnitude).toString(2); prefix = spec.alternate ? '0b' : ''; break;
    case 'o': body = Math.trunc(magnitude).toString(8); prefix = spec.alternate ? '0o' : ''; break;
    case 'x': body = Math.trunc(magnitude).toString(16); prefix = spec.alternate ? '0x' : ''; break;
    case 'X': body = Math.trunc(magnitude).toString(16).toUpperCase(); prefix = spec.alternate ? '0X' : ''; break;
    case 'c': return pad(String.fromCodePoint(Math.trunc(magnitude)), spec, '<');
    case 'd': case 'n': body = group(Math.trunc(magnitude).toString(), spec.grouping, 3); break;
    case 'f': case 'F': {
      const [int = '0', frac] = magnitude.toFixed(spec.precision < 0 ? 6 : spec.precision).split('.');
      body = group(int, spec.grouping, 3) + (frac !== undefined ? '.' + frac : '');
      break;
    }
    case 'e': case 'E': {
      const text = magnitude.toExponential(spec.precision < 0 ? 6 : spec.precision).replace(/e([+-])(\d)$/, 'e$10$2');
      body = type === 'E' ? text.toUpperCase() : text;
      break;
    }
    case '%': {
      const [int = '0', frac] = (magnitude * 100).toFixed(spec.precision < 0 ? 6 : spec.precision).split('.');
      body = group(int, spec.grouping, 3) + (frac !== undefined ? '.' + frac : '') + '%';
      break;
    }
    case 'g': case 'G': case '': {
      if (type === '' && Number.isInteger(value)) { body = group(magnitude.toString(), spec.grouping, 3); break; }
      const precision = spec.precision < 0 ? (type === '' ? 17 : 6) : Math.max(1, spec.precision);
      const exponent = magnitude === 0 ? 0 : Math.floor(Math.log10(magnitude));
      if (exponent < -4 || exponent >= precision) {
        body = magnitude.toExponential(precision - 1).replace(/\.?0+e/, 'e').replace(/e([+-])(\d)$/, 'e$10$2');
      } else {
        body = magnitude.toFixed(Math.max(0, precision - 1 - exponent));
        if (!spec.alternate && body.includes('.')) body = body.replace(/\.?0+$/, '');
        if (type === '' && spec.precision < 0) body = String(magnitude);
      }
      if (type === 'G') body = body.toUpperCase();
      break;
    }
    default: body = String(magnitude);
  }
  const sign = negative ? '-' : spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
  if (spec.align === '=') {
    const inner = body;
    const width = spec.width - sign.length - prefix.length;
    return sign + prefix + (inner.length < width ? spec.fill.repeat(width - inner.length) : '') + inner;
  }
  return pad(sign + prefix + body, spec, '>');
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * `YYYY-MM-DD hh:mm:ss.µµµµµµ` in local time, as Pyruse prints a journal timestamp (Python's
 * str() of a datetime, which leaves the fraction out when it is zero).
 */
export function formatTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  const micro = Math.floor(((micros % 1_000_000) + 1_000_000) % 1_000_000);
  const fraction = micro === 0 ? '' : `.${String(micro).padStart(6, '0')}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${fraction}`;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Python's `datetime.strftime` (C locale) of a µs timestamp in local time, as `{__REALTIME_TIMESTAMP:%H:%M}` renders it. */
export function strftime(micros: number, format: string): string {
  const d = new Date(Math.floor(micros / 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const dayOfYear = Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
  // C's %U/%W: days before the year's first Sunday (Monday) are week 0
  const weekOfYear = (firstDay: number) => Math.floor((dayOfYear - 1 + 7 - ((d.getDay() - firstDay + 7) % 7)) / 7);
  const hour12 = d.getHours() % 12 || 12;
  return format.replace(/%([%aAbBcdfHIjmMpSUwWyYzZeTFDR])/g, (_all, directive: string) => {
    switch (directive) {
      case '%': return '%';
      case 'a': return DAYS[d.getDay()]!.slice(0, 3);
      case 'A': return DAYS[d.getDay()]!;
      case 'b': return MONTHS[d.getMonth()]!.slice(0, 3);
      case 'B': return MONTHS[d.getMonth()]!;
      case 'c': return `${DAYS[d.getDay()]!.slice(0, 3)} ${MONTHS[d.getMonth()]!.slice(0, 3)} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;
      case 'd': return pad(d.getDate());
      case 'e': return String(d.getDate()).padStart(2, ' ');
      case 'f': return pad(((micros % 1_000_000) + 1_000_000) % 1_000_000, 6);
      case 'H': return pad(d.getHours());
      case 'I': return pad(hour12);
      case 'j': return pad(dayOfYear, 3);
      case 'm': return pad(d.getMonth() + 1);
      case 'M': return pad(d.getMinutes());
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
      case 'S': return pad(d.getSeconds());
      case 'U': return pad(weekOfYear(0));
      case 'W': return pad(weekOfYear(1));
      case 'w': return String(d.getDay());
      case 'y': return pad(d.getFullYear() % 100);
      case 'Y': return String(d.getFullYear());
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      case 'D': return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
      case 'R': return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      // a naive datetime (python-systemd's) has no zone: %z and %Z are empty
      default: return '';
    }
  });
}
