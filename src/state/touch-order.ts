/** A record in a touch order: `touched` is the sequence of its last touch, `gone` says it was deleted. */
export interface Touched {
  touched: number;
  gone: boolean;
}

/**
 * Records in least-recently-touched order, for a hard cap that evicts the stalest key: (sequence,
 * record) pairs in parallel arrays, appended at each touch; older pairs of a record are stale and
 * skipped. (A JS Map cannot serve: evicting its first key again and again walks over the holes left
 * by the previous deletions, O(n) each time.) The pairs hold the record itself, so telling a stale
 * pair needs no lookup in a map of a million keys, and a touch allocates nothing.
 */
export class TouchOrder<T extends Touched> {
  private seqs: number[] = [];
  private records: T[] = [];
  private head = 0;
  private sequence = 0;

  /** Appends `record` as the most recently touched; its new `touched` value is returned. */
  touch(record: T): number {
    this.seqs.push(++this.sequence);
    this.records.push(record);
    return this.sequence;
  }

  /** The least recently touched live record (removed from the order). */
  shift(): T | undefined {
    while (this.head < this.records.length) {
      const record = this.records[this.head]!, seq = this.seqs[this.head]!;
      this.head++;
      if (isCurrent(record, seq)) return record;
    }
    return undefined;
  }

  /** Drops consumed and stale pairs once they outnumber the live ones (amortised O(1) per touch). */
  compact(liveCount: number): void {
    if (this.records.length - this.head <= 4 * liveCount + 1024) return;
    const seqs: number[] = [], records: T[] = [];
    for (let i = this.head; i < this.records.length; i++) {
      if (isCurrent(this.records[i]!, this.seqs[i]!)) { seqs.push(this.seqs[i]!); records.push(this.records[i]!); }
    }
    this.seqs = seqs;
    this.records = records;
    this.head = 0;
  }
}

const isCurrent = (record: Touched, seq: number): boolean => !record.gone && record.touched === seq;
