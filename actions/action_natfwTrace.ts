import {
  MAX_DURATION_SECONDS,
  ConfigError, DEFAULT_ARCHIVE_DIR, DEFAULT_STALE_MS, defineAction, loadArchiveStore, parseIp, parseTraceTime, PROTOCOLS, trace,
  type ArchiveStore, type Entry, type Protocol, type TraceStatus,
} from '../src/modules/api.js';

interface Args {
  archiveDir?: string | string[];
  timeField?: string;
  publicIpField: string;
  portField: string;
  protocolField?: string;
  defaultProtocol?: Protocol;
  into: string;
  statusField?: string;
  skewSeconds?: number;
}

/** Beyond the trace statuses: the entry lacked a usable time, address, port or protocol, or the archive could not be read. */
export type NatfwActionStatus = TraceStatus | 'invalid-input' | 'archive-error';

const PROTOCOL_NUMBERS: Record<string, Protocol> = { '6': 'tcp', '17': 'udp', '1': 'icmp' };

function protocolOf(value: unknown): Protocol | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).toLowerCase();
  return PROTOCOLS.includes(text as Protocol) ? (text as Protocol) : PROTOCOL_NUMBERS[text];
}

/** µs for journal timestamps (numbers ≥ 1e14), ms or s for smaller numbers, ISO-8601 with zone for strings. */
function timeMsOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value >= 1e14) return Math.floor(value / 1000);
    return value >= 1e11 ? value : value * 1000;
  }
  if (typeof value === 'string') {
    try {
      return parseTraceTime(value);
    } catch {
      return undefined; // a naive local time: no zone to trust, so no answer
    }
  }
  return undefined;
}

function portOf(value: unknown): number | undefined {
  const port = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
}

export default defineAction<Args>({
  name: 'action_natfwTrace',
  summary: 'Names the VPN client (internal address) that had a public IP + source port at the time of the entry, from the natfw archive.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['publicIpField', 'portField', 'into'],
    properties: {
      archiveDir: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
        description: `natfw archive directory (or several, e.g. with the old /etc/iptables); default ${DEFAULT_ARCHIVE_DIR}.`,
      },
      timeField: { type: 'string', description: 'Field holding the time of the reported traffic; default __REALTIME_TIMESTAMP (µs). Strings: ISO-8601 with zone or unix seconds.' },
      publicIpField: { type: 'string', description: 'Field holding the public (NAT) address seen by the remote side.' },
      portField: { type: 'string', description: 'Field holding the source port (or ICMP id) seen by the remote side.' },
      protocolField: { type: 'string', description: 'Field holding the protocol (tcp, udp, icmp, or 6/17/1); default: defaultProtocol.' },
      defaultProtocol: { type: 'string', enum: ['tcp', 'udp', 'icmp'], description: 'Protocol when protocolField is absent or empty; default tcp.' },
      into: { type: 'string', description: 'Field receiving the internal address; never overwritten when already set.' },
      statusField: { type: 'string', description: 'Field receiving the trace status (found, ambiguous, no-archive…); default natfwStatus.' },
      skewSeconds: { type: 'number', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'How far the reported time may be off; archives in force within ± this are candidates; at most 10 years.' },
    },
  },
  create(args, ctx) {
    const dirs = args.archiveDir === undefined ? [DEFAULT_ARCHIVE_DIR] : typeof args.archiveDir === 'string' ? [args.archiveDir] : args.archiveDir;
    if (dirs.some((d) => d === '')) throw new ConfigError('E_BAD_ARGS', 'archiveDir must not be empty', 'archiveDir');
    if (args.skewSeconds !== undefined && !(args.skewSeconds >= 0)) throw new ConfigError('E_BAD_ARGS', 'skewSeconds must be ≥ 0', 'skewSeconds');
    const timeField = args.timeField ?? '__REALTIME_TIMESTAMP';
    const statusField = args.statusField ?? 'natfwStatus';
    const defaultProtocol = args.defaultProtocol ?? 'tcp';
    const skewMs = (args.skewSeconds ?? 0) * 1000;
    const { into, publicIpField, portField, protocolField } = args;
    // opened on first use: declaring the action (check, test) reads nothing
    let store: ArchiveStore | undefined;
    let Store: (new (dirs: string[]) => ArchiveStore) | undefined;
    const warned = new Set<string>();

    function status(entry: Entry, value: NatfwActionStatus): void {
      entry[statusField] = value;
    }

    function answer(entry: Entry, timeMs: number, publicIp: string, port: number, protocol: Protocol): void {
      try {
        store ??= new Store!(dirs);
        store.refreshIfChanged();
        const traced = trace(store, { timeMs, publicIp, port, protocol, skewMs, staleMs: DEFAULT_STALE_MS });
        status(entry, traced.status);
        // an ambiguous answer names nobody: acting on a guess would accuse the wrong user
        if (traced.status === 'found' && traced.internal !== null) entry[into] = traced.internal;
      } catch (error) {
        status(entry, 'archive-error');
        const message = (error as Error).message;
        if (!warned.has(message)) {
          warned.add(message);
          ctx.log.warn(`${ctx.label}: natfw archive unreadable: ${message}`);
        }
      }
    }

    return {
      async start() {
        Store ??= await loadArchiveStore();
      },
      reads: [into, timeField, publicIpField, portField, ...(protocolField === undefined ? [] : [protocolField])],
      act(entry) {
        if (entry[into] !== undefined && entry[into] !== null) return;
        const timeMs = timeMsOf(entry[timeField]);
        const address = parseIp(entry[publicIpField]);
        const port = portOf(entry[portField]);
        const rawProtocol = protocolField === undefined ? undefined : entry[protocolField];
        const protocol = rawProtocol === undefined || rawProtocol === null || rawProtocol === '' ? defaultProtocol : protocolOf(rawProtocol);
        if (timeMs === undefined || address?.family !== 4 || port === undefined || protocol === undefined) {
          status(entry, 'invalid-input');
          return;
        }
        // the archive code loads with the first entry to trace (then the reader waits for it once)
        if (!Store) return loadArchiveStore().then((loaded) => { Store = loaded; answer(entry, timeMs, address.text, port, protocol); });
        answer(entry, timeMs, address.text, port, protocol);
        return undefined;
      },
    };
  },
});
