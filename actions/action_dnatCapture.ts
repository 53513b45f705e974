import { ConfigError, defineAction, eventTimeOf, lifetimeBits, MAX_DURATION_SECONDS, type Entry } from '../src/modules/api.js';

interface Args {
  saddr: string; sport?: string;
  addr?: string; addrValue?: string | number;
  port?: string; portValue?: string | number;
  daddr?: string; daddrValue?: string | number;
  dport?: string; dportValue?: string | number;
  keepSeconds?: number;
}

const field = (description: string) => ({ type: 'string', description });
const value = (description: string) => ({ type: ['string', 'number'], description });

/** Reads a field, falling back to the configured constant when the field is absent. */
function reader(fieldName: string | undefined, fallback: string | number | undefined): (entry: Entry) => string | undefined {
  const constant = fallback === undefined ? undefined : String(fallback);
  if (fieldName === undefined) return () => constant;
  return (entry) => {
    const v = entry[fieldName];
    // Pyruse compat: the field reference wins; the …Value is only a default for a missing field
    if (v === undefined || v === null) return constant;
    return typeof v === 'string' ? v : String(v);
  };
}

export default defineAction<Args>({
  name: 'action_dnatCapture',
  summary: 'Records which real client (saddr, sport) is behind a proxy/DNAT address (addr, port), for action_dnatReplace.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['saddr'],
    properties: {
      saddr: field('Field with the real client address (mandatory).'),
      sport: field('Field with the real client port.'),
      addr: field('Field with the address the service will see as the client (the proxy side).'),
      addrValue: value('Constant addr, used when the addr field is absent.'),
      port: field('Field with the port the service will see.'),
      portValue: value('Constant port, used when the port field is absent.'),
      daddr: field('Field with the service address.'),
      daddrValue: value('Constant daddr, used when the daddr field is absent.'),
      dport: field('Field with the service port.'),
      dportValue: value('Constant dport, used when the dport field is absent.'),
      keepSeconds: { type: 'number', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'How long the mapping is kept (default 63), rounded up to the next power of two (4 to 7 give 8, 64 gives 128); at most 10 years.' },
    },
  },
  create(args, ctx) {
    if (args.addr === undefined && args.addrValue === undefined) {
      throw new ConfigError('E_BAD_ARGS', 'action_dnatCapture needs "addr" or "addrValue" (or both): the address to recognise later', 'addr');
    }
    const table = ctx.state.dnat;
    table.limitMappings(ctx.settings.section<{ dnatMappings: number }>('limits').dnatMappings);
    // Pyruse compat: keepSeconds defaults to 63, i.e. 64 s buckets
    if (args.keepSeconds === 0) ctx.warn('keepSeconds 0: each mapping is kept 1 to 2 seconds (1-second buckets, as in Pyruse)', 'keepSeconds', 'W_PYRUSE_COMPAT');
    const bits = lifetimeBits(args.keepSeconds ?? 63);
    const saddrField = args.saddr, sportField = args.sport;
    const readAddr = reader(args.addr, args.addrValue);
    const readPort = reader(args.port, args.portValue);
    const readDaddr = reader(args.daddr, args.daddrValue);
    const readDport = reader(args.dport, args.dportValue);
    return {
      reads: [saddrField, sportField, args.addr, args.port, args.daddr, args.dport].filter((f): f is string => f !== undefined),
      act(entry) {
        const saddr = entry[saddrField];
        const addr = readAddr(entry);
        // nothing to link: the entry is left as it is
        if (saddr === undefined || saddr === null || addr === undefined) return;
        const sport = sportField === undefined ? undefined : entry[sportField] ?? undefined;
        table.capture({ saddr, sport, addr, port: readPort(entry), daddr: readDaddr(entry), dport: readDport(entry) }, eventTimeOf(entry, ctx.clock), bits);
      },
    };
  },
});
