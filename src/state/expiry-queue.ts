/**
 * A FIFO of (deadline, item) pairs in parallel arrays: the cheapest structure for expiries that are
 * pushed in (nearly) increasing deadline order, which is what event time gives one duration.
 * Popping is amortised O(1); the arrays are compacted when half of them is consumed.
 */
export class ExpiryQueue<T> {
  private deadlines: number[] = [];
  private keys: T[] = [];
  private head = 0;

  get size(): number {
    return this.keys.length - this.head;
  }

  push(deadline: number, key: T): void {
    this.deadlines.push(deadline);
    this.keys.push(key);
  }

  /** Pops every item whose deadline is at or before `now`, oldest first. */
  popDue(now: number, onDue: (key: T) => void): void {
    while (this.head < this.keys.length && this.deadlines[this.head]! <= now) {
      const key = this.keys[this.head]!;
      this.head++;
      onDue(key);
    }
    if (this.head > 1024 && this.head * 2 > this.keys.length) this.compact();
  }

  clear(): void {
    this.deadlines = [];
    this.keys = [];
    this.head = 0;
  }

  private compact(): void {
    this.deadlines = this.deadlines.slice(this.head);
    this.keys = this.keys.slice(this.head);
    this.head = 0;
  }
}

/**
 * One ExpiryQueue per duration, so that event time keeps each sorted whatever the mix of durations.
 * The queues are also held in an array: it is walked at every expiry check, where a Map iterator
 * would allocate.
 */
export class ExpiryQueues<T> {
  private readonly byDuration = new Map<number, ExpiryQueue<T>>();
  private list: ExpiryQueue<T>[] = [];

  /** The queue of the items that expire `durationMicros` after they are pushed. */
  of(durationMicros: number): ExpiryQueue<T> {
    let queue = this.byDuration.get(durationMicros);
    if (queue === undefined) {
      queue = new ExpiryQueue<T>();
      this.byDuration.set(durationMicros, queue);
      this.list = [...this.byDuration.values()];
    }
    return queue;
  }

  /** Pops every item of every queue whose deadline is at or before `now`. */
  popDue(now: number, onDue: (key: T) => void): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) list[i]!.popDue(now, onDue);
  }
}
