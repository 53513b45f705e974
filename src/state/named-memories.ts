import type { Persistent } from './state.js';

/** What a store keeps under each name: keyed records that are saved and restored as a list. */
export interface KeyedMemory<Saved> {
  snapshot(): Saved[];
  restore(saved: Saved[], nowMicros: number): void;
}

/**
 * Memories by name (counter categories, session memories), each capped at the same number of keys,
 * saved with the journal cursor. A memory reads the cap when it adds a key, so a limit set after
 * it was made still holds. Not on the per-entry path: steps look their memory up once, when built.
 */
export class NamedMemories<M extends KeyedMemory<Saved>, Saved> implements Persistent {
  private readonly memories = new Map<string, M>();
  private maxKeys: number;
  private readonly readMaxKeys = (): number => this.maxKeys;

  constructor(
    defaultMaxKeys: number,
    private readonly make: (maxKeys: () => number) => M,
    private readonly isSaved: (value: unknown) => value is Saved,
  ) {
    this.maxKeys = defaultMaxKeys;
  }

  /** Sets the hard cap of keys per memory (config `limits.counterKeys`, `limits.sessionKeys`). */
  limitKeys(maxKeys: number | undefined): void {
    if (maxKeys !== undefined && maxKeys >= 1) this.maxKeys = maxKeys;
  }

  /** The memory called `name`, made at its first use. */
  protected named(name: string): M {
    let memory = this.memories.get(name);
    if (memory === undefined) {
      memory = this.make(this.readMaxKeys);
      this.memories.set(name, memory);
    }
    return memory;
  }

  snapshot(): Record<string, Saved[]> {
    const out: Record<string, Saved[]> = {};
    for (const [name, memory] of this.memories) out[name] = memory.snapshot();
    return out;
  }

  /** A damaged snapshot loses only its damaged records: the rest is restored. */
  restore(data: unknown, nowMicros: number): void {
    if (typeof data !== 'object' || data === null) return;
    for (const [name, saved] of Object.entries(data as Record<string, unknown>)) {
      if (Array.isArray(saved)) this.named(name).restore(saved.filter(this.isSaved), nowMicros);
    }
  }
}
