/** Where an item waits in a `HoldWheel`: pass it back to `remove`. */
export type HoldSlot<T> = Set<T>;

/**
 * Ends holds on time with one timer for all of them: items are kept in
 * buckets of `resolutionMs` by the tick their hold ends in, and one interval
 * (running only while something is held) expires the buckets that are due.
 *
 * Why not one `setTimeout` per parked long-poll: under fan-out every
 * observer is parked and unparked once per event, and each cycle allocated a
 * Timeout, linked it into a per-duration list and unlinked it again, which
 * profiled above the rest of parking. Here a park is a Set insert into an
 * existing bucket and an unpark a Set delete. A hold of 25 s may end up to
 * `resolutionMs` late; nothing depends on that precision.
 */
export class HoldWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Last tick whose bucket was expired. */
  private lastTick: number;

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly resolutionMs = 50,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTick = Math.floor(this.now() / resolutionMs);
  }

  /** Items held now. */
  get size(): number {
    return this.held;
  }

  /** Holds `item` for `holdMs`, then calls `onExpire(item)` unless it was removed first. */
  add(item: T, holdMs: number): HoldSlot<T> {
    const now = this.now();
    if (this.timer === undefined) {
      this.lastTick = Math.floor(now / this.resolutionMs);
      this.timer = setInterval(() => this.expire(), this.resolutionMs);
      this.timer.unref();
    }
    // Rounded up: a hold never ends early.
    const tick = Math.max(this.lastTick + 1, Math.ceil((now + holdMs) / this.resolutionMs));
    let bucket = this.buckets.get(tick);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(tick, bucket);
    }
    bucket.add(item);
    this.held++;
    return bucket;
  }

  /** Ends the hold of `item` without expiring it. */
  remove(item: T, slot: HoldSlot<T>): void {
    if (slot.delete(item)) this.held--;
  }

  /** Stops the timer; whatever is held is dropped without expiring. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.buckets.clear();
    this.held = 0;
  }

  private expire(): void {
    const nowTick = Math.floor(this.now() / this.resolutionMs);
    for (let tick = this.lastTick + 1; tick <= nowTick; tick++) {
      const bucket = this.buckets.get(tick);
      if (bucket === undefined) continue;
      this.buckets.delete(tick);
      for (const item of bucket) {
        // Removed first: `onExpire` may park the item again (a new hold).
        bucket.delete(item);
        this.held--;
        this.onExpire(item);
      }
    }
    this.lastTick = nowTick;
    if (this.held === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      // Empty buckets of removed items are dropped with the timer.
      this.buckets.clear();
    }
  }
}
