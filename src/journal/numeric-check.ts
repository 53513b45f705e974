import type { WarningCode } from '../config/errors.js';
import { NUMERIC_FIELDS } from './fields.js';

/**
 * `check` warns when a comparison filter compares a field the journal always gives as a number
 * (PRIORITY, _PID …) with a string: `"5"` never equals 5, so the filter would silently never pass.
 */
export function warnIfNumericFieldString(field: string, value: unknown,
  ctx: { warn(message: string, argsSubPath?: string, code?: WarningCode): void }, argsSubPath: string): void {
  if (typeof value !== 'string' || !NUMERIC_FIELDS.has(field)) return;
  const number = Number(value);
  const hint = value.trim() !== '' && Number.isFinite(number) ? `: write ${number}, not ${JSON.stringify(value)}` : '';
  ctx.warn(`${field} is always a number, so the string ${JSON.stringify(value)} never matches it${hint}`, argsSubPath, 'W_NUMERIC_FIELD_STRING');
}
