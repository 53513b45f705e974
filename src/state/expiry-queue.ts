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
