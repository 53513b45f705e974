/**
 * Python's `repr()` and `ascii()` of the values a template can meet, for the `!r` and `!a`
 * conversions of `str.format` (Pyruse renders its templates with Python).
 */

/** Characters Python's str.isprintable() refuses: categories C* and Z* except the ASCII space. */
const NOT_PRINTABLE = /[\p{C}\p{Z}]/u;

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, '0');
}

function escapeCodePoint(code: number): string {
  if (code <= 0xff) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\U${hex(code, 8)}`;
}

/**
 * `repr(text)`: single quotes unless the text holds a single quote and no double quote; `\\`,
 * the quote, `\t`, `\n`, `\r` escaped; other characters that are not printable as `\xhh`,
 * `\uhhhh` or `\Uhhhhhhhh`. With `asciiOnly` (`ascii()`), every non-ASCII character is escaped too.
 */
export function pythonStringRepr(text: string, asciiOnly = false): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += escapeCodePoint(code);
    else if (code < 0x7f) out += char;
    else if (asciiOnly || NOT_PRINTABLE.test(char)) out += escapeCodePoint(code);
    else out += char;
  }
  return out + quote;
}

/** `repr()` of a naive local datetime given in µs since the epoch, e.g. `datetime.datetime(2026, 1, 2, 3, 4, 5, 123456)`. */
export function pythonDatetimeRepr(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const parts = [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes()];
  // Python leaves out trailing zero fields: microseconds, then seconds
  if (fraction !== 0) parts.push(date.getSeconds(), Math.floor(fraction));
  else if (date.getSeconds() !== 0) parts.push(date.getSeconds());
  return `datetime.datetime(${parts.join(', ')})`;
}

/** `str()` of a timedelta given in µs, e.g. `0:00:05.000123` or `2 days, 1:00:00`. */
export function pythonTimedeltaStr(micros: number): string {
  const total = Math.trunc(micros);
  const days = Math.floor(total / 86_400_000_000);
  let rest = total - days * 86_400_000_000;
  const hours = Math.floor(rest / 3_600_000_000);
  rest -= hours * 3_600_000_000;
  const minutes = Math.floor(rest / 60_000_000);
  rest -= minutes * 60_000_000;
  const seconds = Math.floor(rest / 1_000_000);
  const fraction = rest - seconds * 1_000_000;
  const two = (n: number) => String(n).padStart(2, '0');
  let text = `${hours}:${two(minutes)}:${two(seconds)}`;
  if (fraction !== 0) text += `.${String(fraction).padStart(6, '0')}`;
  if (days !== 0) text = `${days} day${Math.abs(days) === 1 ? '' : 's'}, ${text}`;
  return text;
}

/** `repr()` of a timedelta given in µs, e.g. `datetime.timedelta(seconds=5, microseconds=123)`. */
export function pythonTimedeltaRepr(micros: number): string {
  const total = Math.trunc(micros);
  const days = Math.floor(total / 86_400_000_000);
  let rest = total - days * 86_400_000_000;
  const seconds = Math.floor(rest / 1_000_000);
  rest -= seconds * 1_000_000;
  const parts: string[] = [];
  if (days !== 0) parts.push(`days=${days}`);
  if (seconds !== 0) parts.push(`seconds=${seconds}`);
  if (rest !== 0) parts.push(`microseconds=${rest}`);
  return `datetime.timedelta(${parts.length > 0 ? parts.join(', ') : '0'})`;
}
