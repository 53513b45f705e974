import { ExpiryQueues } from './expiry-queue.js';
import { NamedMemories } from './named-memories.js';
import { TouchOrder } from './touch-order.js';

/** Default hard cap of remembered sessions per memory (config `limits.sessionKeys`). */
export const DEFAULT_SESSION_KEYS = 100_000;

type Values = Record<string, string | number | boolean>;

interface Session {
  readonly key: string;
  values: Values;
  /** Event time (µs) after which the session is forgotten. */
  expires: number;
  /** Sequence of the last write: finds the live pair in the eviction order. */
  touched: number;
  gone: boolean;
}

type SavedSession = [key: string, values: Values, expires: number];

/**
 * One session memory (e.g. "sshd"): key (a session id, a PID …) → fields remembered from earlier
 * entries of that session. Expiries sit in FIFO queues, one per duration (event time keeps each
 * queue sorted); the cap evicts the least recently written session. Every operation is O(1) amortised.
 */
export class SessionMemory {
  private readonly sessions = new Map<string, Session>();
  private readonly expiries = new ExpiryQueues<Session>();
  private readonly order = new TouchOrder<Session>();
  private now = 0;
  private readonly reclaim = (session: Session): void => {
    if (!session.gone && session.expires <= this.now) this.delete(session);
  };

  constructor(private readonly maxKeys: () => number) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Adds `values` to the session (newer values win) and keeps it `keepMicros` from now. */
  remember(key: string, values: Values, nowMicros: number, keepMicros: number): void {
    this.expire(nowMicros);
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = { key, values: {}, expires: 0, touched: 0, gone: false };
      this.sessions.set(key, session);
    }
    Object.assign(session.values, values);
    session.expires = nowMicros + keepMicros;
    this.expiries.of(keepMicros).push(session.expires, session);
    session.touched = this.order.touch(session);
    while (this.sessions.size > this.maxKeys()) {
      const oldest = this.order.shift();
      if (!oldest) break;
      this.delete(oldest);
    }
    this.order.compact(this.sessions.size);
  }

  /** The live session's fields, or undefined. */
  recall(key: string, nowMicros: number): Readonly<Values> | undefined {
    this.expire(nowMicros);
    return this.sessions.get(key)?.values;
  }

  forget(key: string, nowMicros: number): void {
    this.expire(nowMicros);
    const session = this.sessions.get(key);
    if (session) this.delete(session);
  }

  snapshot(): SavedSession[] {
    return [...this.sessions.values()].map((s) => [s.key, s.values, s.expires]);
  }

  restore(saved: SavedSession[], nowMicros: number): void {
    for (const [key, values, expires] of [...saved].sort((a, b) => a[2] - b[2])) {
      if (expires > nowMicros) this.remember(key, values, nowMicros, expires - nowMicros);
    }
  }

  private expire(nowMicros: number): void {
    if (nowMicros > this.now) this.now = nowMicros;
    this.expiries.popDue(this.now, this.reclaim);
  }

  private delete(session: Session): void {
    session.gone = true;
    this.sessions.delete(session.key);
  }
}

/** Every session memory, by name, capped at `limits.sessionKeys` sessions each; saved with the journal cursor. */
export class SessionStore extends NamedMemories<SessionMemory, SavedSession> {
  constructor() {
    super(DEFAULT_SESSION_KEYS, (maxKeys) => new SessionMemory(maxKeys), isSavedSession);
  }

  memory(name: string): SessionMemory {
    return this.named(name);
  }
}

function isSavedSession(value: unknown): value is SavedSession {
  return Array.isArray(value) && value.length === 3 && typeof value[0] === 'string'
    && typeof value[1] === 'object' && value[1] !== null && !Array.isArray(value[1]) && typeof value[2] === 'number';
}

/** The session key of an entry: the key fields' values joined (a missing field reads as ""). */
export function sessionKeyOf(entry: Record<string, unknown>, fields: readonly string[]): string {
  if (fields.length === 1) return textOf(entry[fields[0]!]);
  let key = '';
  for (let i = 0; i < fields.length; i++) key += (i === 0 ? '' : '\u001f') + textOf(entry[fields[i]!]);
  return key;
}

function textOf(value: unknown): string {
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : String(value);
}
