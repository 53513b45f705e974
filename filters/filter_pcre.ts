import { compilePattern, pythonTypeOfField, ConfigError, defineFilter } from '../src/modules/api.js';

interface Args { field: string; re: string; save?: string[] }

export default defineFilter<Args>({
  name: 'filter_pcre',
  summary: 'Passes when the regular expression matches the field; named groups (?P<name>…) and `save` store captures in the entry.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 're'],
    properties: {
      field: { type: 'string', description: 'Entry field to search (a missing field reads as "").' },
      re: { type: 'string', description: 'Python-style regular expression, searched anywhere in the field.' },
      save: { type: 'array', items: { type: 'string' }, description: 'Entry fields receiving the numbered groups, in order.' },
    },
  },
  create({ field, re, save = [] }, ctx) {
    const pattern = compilePattern(re, 're');
    if (pattern.fallbackReason) ctx.warn(`RE2 cannot compile this pattern (${pattern.fallbackReason}); it runs on the backtracking JS engine${pattern.backtracking ? `; ${pattern.backtracking}` : ''}`, 're', 'W_REGEX_FALLBACK');
    if (save.length > pattern.groupCount) {
      throw new ConfigError('E_BAD_ARGS', `"save" names ${save.length} fields but the pattern has ${pattern.groupCount} capturing groups`, 'save');
    }
    const names = pattern.groupNames;
    const journalType = pythonTypeOfField(field);
    if (journalType !== undefined) {
      ctx.warn(`python-systemd gives ${field} as a ${journalType}, which Python's re cannot search: under Pyruse this filter never passed (a TypeError each time), and it never passes here; compare it with filter_equals or filter_in instead`, 'field');
    }
    return {
      reads: [field],
      test(entry) {
        if (journalType !== undefined) return false;
        const value = entry[field];
        // Pyruse compat: a missing field reads as ""; Python's re cannot search anything but text
        // (None, a number: TypeError, which Pyruse logs and takes as a non-match)
        if (typeof value !== 'string' && value !== undefined) return false;
        const text = value ?? '';
        const match = pattern.exec(text);
        if (match === null) return false;
        for (let i = 0; i < save.length; i++) entry[save[i]!] = match[i + 1] ?? null;
        if (names.length > 0) {
          const groups = match.groups!;
          for (const name of names) entry[name] = groups[name] ?? null;
        }
        return true;
      },
    };
  },
});
