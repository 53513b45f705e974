import { compilePattern, pythonTypeOfField, defineFilter, type CompiledPattern } from '../src/modules/api.js';

interface Args { field: string; re: string[] }

export default defineFilter<Args>({
  name: 'filter_pcreAny',
  summary: 'Passes when any of the regular expressions matches the field; named groups are stored in the entry.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 're'],
    properties: {
      field: { type: 'string', description: 'Entry field to search (a missing field reads as "").' },
      re: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Python-style regular expressions, tried in order; the first match wins.' },
    },
  },
  create({ field, re }, ctx) {
    const patterns: CompiledPattern[] = re.map((source, i) => {
      const pattern = compilePattern(source, `re[${i}]`);
      if (pattern.fallbackReason) ctx.warn(`RE2 cannot compile this pattern (${pattern.fallbackReason}); it runs on the backtracking JS engine${pattern.backtracking ? `; ${pattern.backtracking}` : ''}`, `re[${i}]`, 'W_REGEX_FALLBACK');
      return pattern;
    });
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
        for (const pattern of patterns) {
          const match = pattern.exec(text);
          if (match === null) continue;
          if (pattern.groupNames.length > 0) {
            const groups = match.groups!;
            for (const name of pattern.groupNames) entry[name] = groups[name] ?? null;
          }
          return true;
        }
        return false;
      },
    };
  },
});
