/** Options of `createTurnLookup`. */
export interface TurnLookupOptions<K, V> {
  /** Looks up distinct keys at once; a key missing from the answer is `undefined` to its callers. */
  lookup: (keys: K[]) => Promise<Map<K, V>>;
  /**
   * Most distinct keys in one lookup; more asked in one turn start another.
   * @default 500
   */
  maxKeys?: number;
}

/**
 * Gathers the keys asked for in one turn of the event loop (every request one
 * poll phase read) into ONE lookup, started on `setImmediate`: on PostgreSQL
 * each query is a round trip, a pool connection and a socket write, which
 * under a say load cost more than the lookup itself (the session of every
 * say request, docs/BENCHMARKS.md). A key asked twice in a turn is looked up
 * once; a failed lookup rejects every caller of its batch.
 */
export function createTurnLookup<K, V>(options: TurnLookupOptions<K, V>): (key: K) => Promise<V | undefined> {
  const maxKeys = Math.max(1, options.maxKeys ?? 500);
  type Waiter = { resolve: (value: V | undefined) => void; reject: (error: unknown) => void };
  let pending = new Map<K, Waiter[]>();
  let scheduled = false;

  const run = (batch: Map<K, Waiter[]>): void => {
    options.lookup([...batch.keys()]).then(
      (found) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  };
  const flush = (): void => {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    if (batch.size > 0) run(batch);
  };

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      const waiters = pending.get(key);
      if (waiters !== undefined) {
        waiters.push({ resolve, reject });
        return;
      }
      pending.set(key, [{ resolve, reject }]);
      if (pending.size >= maxKeys) {
        flush();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
