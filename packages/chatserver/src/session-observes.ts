/**
 * Counts parked observes per session (by token hash) so that one session —
 * a page opened in many tabs, a client stuck in a loop — cannot hold more
 * than `max` of this chatserver's connections. Anonymous observes are
 * bounded only by the chatserver's total (`PARLEY_CHAT_MAX_OBSERVERS`).
 */
export class SessionObserveCounter {
  readonly max: number;
  readonly #parked = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Counts one more parked observe of `tokenHash`; false (and counts nothing) when it already has `max`. */
  tryAdd(tokenHash: string): boolean {
    const count = this.#parked.get(tokenHash) ?? 0;
    if (count >= this.max) return false;
    this.#parked.set(tokenHash, count + 1);
    return true;
  }

  /** One parked observe of `tokenHash` ended. */
  remove(tokenHash: string): void {
    const count = this.#parked.get(tokenHash) ?? 0;
    if (count <= 1) this.#parked.delete(tokenHash);
    else this.#parked.set(tokenHash, count - 1);
  }

  /** Parked observes of `tokenHash` now. */
  count(tokenHash: string): number {
    return this.#parked.get(tokenHash) ?? 0;
  }
}
