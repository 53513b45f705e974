import { ConfigError, defineAction, eventTimeOf } from '../src/modules/api.js';

interface Args { addr?: string; port?: string; daddr?: string; dport?: string; saddrInto?: string; sportInto?: string }

const MATCH_FIELDS = ['addr', 'port', 'daddr', 'dport'] as const;

export default defineAction<Args>({
  name: 'action_dnatReplace',
  summary: 'Restores the real client address (and port) recorded by action_dnatCapture, in place of the proxy/DNAT one.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      addr: { type: 'string', description: 'Field to match against the captured addr (the address the service saw).' },
      port: { type: 'string', description: 'Field to match against the captured port.' },
      daddr: { type: 'string', description: 'Field to match against the captured daddr.' },
      dport: { type: 'string', description: 'Field to match against the captured dport.' },
      saddrInto: { type: 'string', description: 'Field receiving the real client address.' },
      sportInto: { type: 'string', description: 'Field receiving the real client port.' },
    },
  },
  create(args, ctx) {
    const used = MATCH_FIELDS.filter((f) => args[f] !== undefined);
    if (used.length === 0) throw new ConfigError('E_BAD_ARGS', 'action_dnatReplace needs at least one of "addr", "port", "daddr", "dport" to match on', 'addr');
    if (args.saddrInto === undefined && args.sportInto === undefined) {
      throw new ConfigError('E_BAD_ARGS', 'action_dnatReplace needs "saddrInto" or "sportInto": where to write the real client', 'saddrInto');
    }
    // built at config time: captures then fill this index too, and a lookup is one hash probe
    const index = ctx.state.dnat.index(used);
    const entryFields = index.fields.map((f) => args[f]!);
    const values: Record<(typeof MATCH_FIELDS)[number], string | undefined> = { addr: undefined, port: undefined, daddr: undefined, dport: undefined };
    const { saddrInto, sportInto } = args;
    return {
      reads: entryFields,
      act(entry) {
        for (let i = 0; i < entryFields.length; i++) {
          const v = entry[entryFields[i]!];
          // an entry lacking a match field is left unchanged
          if (v === undefined || v === null) return;
          values[index.fields[i]!] = typeof v === 'string' ? v : String(v);
        }
        const key = index.keyOf(values);
        if (key === undefined) return;
        const mapping = index.lookup(key, eventTimeOf(entry, ctx.clock));
        if (mapping === undefined) return;
        if (saddrInto !== undefined) entry[saddrInto] = mapping.saddr;
        if (sportInto !== undefined && mapping.sport !== undefined) entry[sportInto] = mapping.sport;
      },
    };
  },
});
