import { compilePattern, ConfigError, defineFilter } from '../src/modules/api.js';

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
    return {
      reads: [field],
      test(entry) {
        const value = entry[field];
        // Pyruse compat: a missing field reads as ""
        const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
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
