import type { RoomName, Seq } from '@parley/protocol';

/** What one observer has received of its room. */
export interface ObserverLedger {
  readonly room: RoomName;
  /** Every seq ≤ this has been received (starts at the room's head when observing began). */
  contiguousThrough: Seq;
  /** Received seqs above `contiguousThrough` (non-empty only after a gap or reorder). */
  readonly ahead: Set<Seq>;
  /** The highest seq received; the next in-order event is this + 1. */
  highestSeq: Seq;
  deliveries: number;
  duplicates: number;
  /** Events whose seq is below the highest received before them (arrived late). */
  reordered: number;
  /** Events whose seq skipped past highest + 1 (a hole: later filled out of order, or lost). */
  gaps: number;
}

/** Totals over every observer. */
export interface DeliveryCounts {
  /** First receipts of a (room, seq) by an observer. */
  deliveries: number;
  /** First receipts of acknowledged says: must equal `expectedDeliveries` when nothing is lost. */
  acknowledgedDeliveries: number;
  /** Σ over acknowledged says of the observers of its room. */
  expectedDeliveries: number;
  /** (acknowledged say, observer of its room) pairs never received. */
  lost: number;
  /** Receipts of a (room, seq) the observer already had. */
  duplicated: number;
  /** Receipts whose seq is below one received before (out of order). */
  reordered: number;
  /** Receipts whose seq skipped past the highest + 1 (each is later reordered in or lost). */
  gaps: number;
  /** Observers that received every acknowledged say of their room. */
  completeObservers: number;
}

/**
 * Loss, duplicate and reorder accounting per observer, in O(1) memory per
 * observer when delivery is in order: a contiguous watermark plus the few seqs
 * received above it.
 */
export class DeliveryTracker {
  private readonly ledgers: ObserverLedger[] = [];
  private readonly observersByRoom = new Map<RoomName, number[]>();
  private readonly acknowledged = new Map<RoomName, Seq[]>();
  private readonly highestAcknowledged = new Map<RoomName, Seq>();

  /** Adds an observer of `room` starting after `head`; returns its index. */
  addObserver(room: RoomName, head: Seq): number {
    const index = this.ledgers.length;
    this.ledgers.push({ room, contiguousThrough: head, ahead: new Set(), highestSeq: head, deliveries: 0, duplicates: 0, reordered: 0, gaps: 0 });
    let list = this.observersByRoom.get(room);
    if (!list) this.observersByRoom.set(room, (list = []));
    list.push(index);
    return index;
  }

  /** How many observers watch `room`. */
  observersOf(room: RoomName): number {
    return this.observersByRoom.get(room)?.length ?? 0;
  }

  /** Notes a say answered 2xx with this (room, seq): every observer of the room must receive it. */
  acknowledge(room: RoomName, seq: Seq): void {
    let list = this.acknowledged.get(room);
    if (!list) this.acknowledged.set(room, (list = []));
    list.push(seq);
    if (seq > (this.highestAcknowledged.get(room) ?? 0)) this.highestAcknowledged.set(room, seq);
  }

  /**
   * Records that observer `index` received `seq` of its room.
   * Returns true for a first receipt, false for a duplicate.
   */
  receive(index: number, seq: Seq): boolean {
    const ledger = this.ledgers[index];
    if (!ledger) throw new RangeError(`no observer ${index}`);
    if (seq <= ledger.contiguousThrough || ledger.ahead.has(seq)) {
      ledger.duplicates += 1;
      return false;
    }
    if (seq < ledger.highestSeq) ledger.reordered += 1;
    else {
      if (seq > ledger.highestSeq + 1) ledger.gaps += 1;
      ledger.highestSeq = seq;
    }
    ledger.deliveries += 1;
    if (seq === ledger.contiguousThrough + 1) {
      ledger.contiguousThrough = seq;
      while (ledger.ahead.delete(ledger.contiguousThrough + 1)) ledger.contiguousThrough += 1;
    } else {
      ledger.ahead.add(seq);
    }
    return true;
  }

  /** True once every observer holds every seq up to its room's highest acknowledged say (cheap: O(observers)). */
  allCaughtUp(): boolean {
    return this.ledgers.every((ledger) => ledger.contiguousThrough >= (this.highestAcknowledged.get(ledger.room) ?? 0));
  }

  /** The totals; `lost` walks every acknowledged say of every observer's room. */
  counts(): DeliveryCounts {
    const totals: DeliveryCounts = {
      deliveries: 0,
      acknowledgedDeliveries: 0,
      expectedDeliveries: 0,
      lost: 0,
      duplicated: 0,
      reordered: 0,
      gaps: 0,
      completeObservers: 0,
    };
    for (const ledger of this.ledgers) {
      totals.deliveries += ledger.deliveries;
      totals.duplicated += ledger.duplicates;
      totals.reordered += ledger.reordered;
      totals.gaps += ledger.gaps;
      const seqs = this.acknowledged.get(ledger.room) ?? [];
      let missing = 0;
      for (const seq of seqs) {
        if (seq > ledger.contiguousThrough && !ledger.ahead.has(seq)) missing += 1;
      }
      totals.expectedDeliveries += seqs.length;
      totals.acknowledgedDeliveries += seqs.length - missing;
      totals.lost += missing;
      if (missing === 0) totals.completeObservers += 1;
    }
    return totals;
  }

  /** The ledger of observer `index` (tests and per-observer reports). */
  ledger(index: number): Readonly<ObserverLedger> | undefined {
    return this.ledgers[index];
  }
}
