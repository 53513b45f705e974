import { createRequire } from 'node:module';
import type { Entry } from '../modules/api.js';

// by require: importing node:buffer as a module also loads its File and Blob code
const { isUtf8 } = createRequire(import.meta.url)('node:buffer') as typeof import('node:buffer');

/**
 * Fields python-systemd 235 converts with `int` (its DEFAULT_CONVERTERS), plus the ones it makes a
 * datetime or timedelta, kept here as their number of µs (templates render them as Python would).
 */
export const NUMERIC_FIELDS: ReadonlySet<string> = new Set([
  'PRIORITY', 'LEADER', 'SESSION_ID', 'USERSPACE_USEC', 'INITRD_USEC', 'KERNEL_USEC', '_UID', '_GID',
  '_PID', 'SYSLOG_FACILITY', 'SYSLOG_PID', '_AUDIT_SESSION', '_AUDIT_LOGINUID', '_SYSTEMD_SESSION',
  '_SYSTEMD_OWNER_UID', 'CODE_LINE', 'ERRNO', 'EXIT_STATUS', 'COREDUMP_PID', 'COREDUMP_UID',
  'COREDUMP_GID', 'COREDUMP_SESSION', 'COREDUMP_SIGNAL', 'COREDUMP_TIMESTAMP', '__REALTIME_TIMESTAMP',
  '__MONOTONIC_TIMESTAMP', '_SOURCE_REALTIME_TIMESTAMP', '_SOURCE_MONOTONIC_TIMESTAMP',
]);

/**
 * Fields python-systemd makes a `uuid.UUID`. peruse keeps their journal text (32 hex digits);
 * templates render them as Python's str() does, dashed (see {@link uuidText}).
 */
export const JOURNAL_UUID_FIELDS: ReadonlySet<string> = new Set(['MESSAGE_ID', '_MACHINE_ID', '_BOOT_ID']);

const PYTHON_TYPES: Record<string, string> = {
  __REALTIME_TIMESTAMP: 'datetime', _SOURCE_REALTIME_TIMESTAMP: 'datetime', COREDUMP_TIMESTAMP: 'datetime',
  _SOURCE_MONOTONIC_TIMESTAMP: 'timedelta', __MONOTONIC_TIMESTAMP: 'Monotonic', MESSAGE_ID: 'UUID', _MACHINE_ID: 'UUID', _BOOT_ID: 'UUID',
  COREDUMP: 'bytes',
};

/**
 * The Python type python-systemd gives a journal field when it is not `str` ("int", "datetime",
 * "timedelta", "Monotonic", "UUID", "bytes"), else undefined. Pyruse's filters met these types: a regex
 * cannot search them, and a datetime or UUID never equals, nor orders with, a JSON number or text.
 */
export function pythonTypeOfField(field: string): string | undefined {
  return PYTHON_TYPES[field] ?? (NUMERIC_FIELDS.has(field) ? 'int' : undefined);
}

/** The text Python's `str(uuid.UUID(text))` gives (lower-case, dashed), or undefined where UUID() raises. */
export function uuidText(text: string): string | undefined {
  const hex = text.replace(/urn:|uuid:/g, '').replace(/^\{+|\}+$/g, '').replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Decodes bytes that are not valid UTF-8 with the configured 8-bit encoding, byte-exact for ISO-8859-1. */
export function makeByteDecoder(encoding: string): (bytes: Uint8Array) => string {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const normalized = encoding.toLowerCase().replace(/_/g, '-');
  // WHATWG maps "iso-8859-1" to windows-1252; Buffer's latin1 is the byte-exact ISO-8859-1
  const latin1 = ['iso-8859-1', 'iso8859-1', 'latin1', 'latin-1', 'l1', 'iso-ir-100', 'cp819'].includes(normalized);
  let fallback: TextDecoder | undefined;
  if (!latin1) {
    try { fallback = new TextDecoder(normalized); } catch { fallback = undefined; }
  }
  return (bytes) => {
    // validated first: a thrown decoding error costs about 3.5 µs, 30 times the check, and a flood of
    // lines that are not UTF-8 must not slow every entry down
    if (isUtf8(bytes)) {
      try {
        return utf8.decode(bytes);
      } catch {
        // not expected after the check; the 8-bit decoding below is the answer for invalid UTF-8 anyway
      }
    }
    return fallback ? fallback.decode(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  };
}

export function isKnownEncoding(encoding: string): boolean {
  try { new TextDecoder(encoding.toLowerCase().replace(/_/g, '-')); return true; } catch { return ['latin1', 'latin-1', 'iso8859-1'].includes(encoding.toLowerCase()); }
}

/** Converts one field's textual value to its python-systemd type. */
export function typedValue(name: string, text: string): string | number {
  return NUMERIC_FIELDS.has(name) ? numberOrText(text) : text;
}

/** What Python's int() accepts of bytes: ASCII whitespace around, a sign, digits with single underscores. */
const PYTHON_INT = /^[ \t\n\r\v\f]*[+-]?[0-9](?:_?[0-9])*[ \t\n\r\v\f]*$/;

/**
 * A numeric field's value, read as python-systemd's `int(value)`: what int() refuses ("5.5",
 * "1e3", "0x10", "") stays a string, so comparison filters see a type mismatch, not a wrong number.
 */
export function numberOrText(text: string): string | number {
  if (!PYTHON_INT.test(text)) return text;
  const n = Number(text.includes('_') ? text.replace(/_/g, '') : text);
  return n === 0 ? 0 : n; // Python has no -0
}

/**
 * Types an object parsed from one `journalctl -o json` line in place. Byte arrays (non-UTF-8 or
 * binary fields) are decoded; a repeated field (array of values) keeps its first value.
 */
export function typeJsonEntry(raw: Record<string, unknown>, decode: (bytes: Uint8Array) => string): Entry {
  for (const name in raw) {
    let value = raw[name];
    // the common case, a text field that stays text, writes nothing: a keyed store per field is
    // most of the cost of typing an entry
    if (typeof value === 'string') {
      if (NUMERIC_FIELDS.has(name)) raw[name] = typedValue(name, value);
      continue;
    }
    if (Array.isArray(value)) {
      value = value.length > 0 && typeof value[0] === 'number' ? decode(Uint8Array.from(value as number[])) : firstOf(value, decode);
    }
    if (typeof value === 'string') raw[name] = typedValue(name, value);
    else if (value === null || value === undefined) delete raw[name];
    else raw[name] = value;
  }
  return raw;
}

function firstOf(values: unknown[], decode: (bytes: Uint8Array) => string): string | undefined {
  const first = values[0];
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) return decode(Uint8Array.from(first as number[]));
  return undefined;
}
