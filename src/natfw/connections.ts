// The last step of a trace: internal address → user. eduVPN 3 logs
//   CONNECT <user> (<profile>:<connection>) [<originating ip> => <ipv4>,<ipv6>]
//   DISCONNECT <user> (<profile>:<connection>)
// The disconnect carries no address, so events are paired by connection id.
import { parseTraceTime } from './time.js';

export interface ConnectionEvent {
  timeMs: number;
  kind: 'CONNECT' | 'DISCONNECT';
  user: string;
  profile: string;
  connection: string;
  originatingIp?: string;
  ipv4?: string;
  ipv6?: string;
}

export interface ConnectionMatch {
  user: string;
  profile: string;
  connection: string;
  originatingIp: string | null;
  connectedAt: string;
}

const EVENT = /\b(CONNECT|DISCONNECT) (\S+) \(([^:()\s]+):([^()\s]+)\)(?: \[(\S+) => ([^,\]\s]*),([^\]\s]*)\])?/;

export function parseConnectionMessage(message: string, timeMs: number): ConnectionEvent | undefined {
  const match = EVENT.exec(message);
  if (!match) return undefined;
  const [, kind, user, profile, connection, originatingIp, ipv4, ipv6] = match;
  return {
    timeMs, kind: kind as 'CONNECT' | 'DISCONNECT', user: user!, profile: profile!, connection: connection!,
    ...(originatingIp ? { originatingIp } : {}), ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}),
  };
}

/**
 * One log line: a `journalctl -o json` record, or a syslog line starting with an ISO-8601 time
 * with zone (rsyslog high precision, `journalctl -o short-iso`) or unix seconds (`-o short-unix`).
 */
export function parseConnectionLine(line: string): ConnectionEvent | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    try {
      const record = JSON.parse(trimmed) as Record<string, unknown>;
      const micros = Number(record.__REALTIME_TIMESTAMP);
      if (typeof record.MESSAGE !== 'string' || !Number.isFinite(micros)) return undefined;
      return parseConnectionMessage(record.MESSAGE, Math.floor(micros / 1000));
    } catch {
      return undefined;
    }
  }
  const stamp = trimmed.split(/\s/, 1)[0] ?? '';
  let timeMs: number;
  try {
    timeMs = parseTraceTime(stamp);
  } catch {
    return undefined; // a time without zone cannot be placed: skip rather than guess
  }
  return parseConnectionMessage(trimmed.slice(stamp.length), timeMs);
}

export function parseConnectionLog(text: string): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (const line of text.split('\n')) {
    const event = parseConnectionLine(line);
    if (event) events.push(event);
  }
  return events.sort((a, b) => a.timeMs - b.timeMs);
}

/** Connections open at `timeMs` (connected at or before it, not yet disconnected) that had `internal` as IPv4. */
export function connectionsAt(events: readonly ConnectionEvent[], internal: string, timeMs: number): ConnectionMatch[] {
  const open = new Map<string, ConnectionEvent>();
  for (const event of [...events].sort((a, b) => a.timeMs - b.timeMs)) {
    if (event.timeMs > timeMs) break;
    const key = `${event.profile}:${event.connection}`;
    if (event.kind === 'CONNECT') open.set(key, event);
    else open.delete(key);
  }
  return [...open.values()]
    .filter((event) => event.ipv4 === internal)
    .map((event) => ({
      user: event.user, profile: event.profile, connection: event.connection,
      originatingIp: event.originatingIp ?? null, connectedAt: new Date(event.timeMs).toISOString(),
    }));
}
