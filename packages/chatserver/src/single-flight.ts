/**
 * Coalesces concurrent calls with the same key into one: while a call for a
 * key is under way, further calls get its promise instead of starting another.
 * Nothing is cached once it settles.
 */
export class SingleFlight<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** Runs `work` for `key` unless a run for `key` is already under way. */
  run(key: K, work: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Is a run for `key` under way? */
  has(key: K): boolean {
    return this.inFlight.has(key);
  }
}
