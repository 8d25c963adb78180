import type { Logger } from '@parley/protocol';
import type { ChatStore, SayInput, SayResult, StoredWrite } from '@parley/store';

/** Options of `createSayBatcher`. */
export interface SayBatcherOptions {
  store: ChatStore;
  /** Hands a committed write's outbox row to the queue (without waiting). */
  publish: (write: StoredWrite) => void;
  log: Logger;
  /**
   * Most says committed in one transaction; 1 turns grouping off (each say
   * its own transaction and outbox row, as `store.say`).
   * @default 256
   */
  maxGroup?: number;
  /**
   * Most bytes of events (estimated from text, room and the event's fixed
   * fields) one group may hold, so its outbox row and notify job stay far
   * under the chatserver's 1 MiB notify body limit: 256 says of 2000 emoji
   * would be over 2 MiB. A say never waits for room: it starts the next group.
   * @default 262144 (256 KiB)
   */
  maxGroupBytes?: number;
  /**
   * Most groups of this process being committed at once. While that many
   * are in flight, new says wait and join ONE next group, started as soon as
   * one commits: on PostgreSQL a commit costs a round trip, a WAL flush and
   * CPU per transaction, so a few large groups carry far more says than many
   * tiny ones competing for the pool and the rooms' locks (see
   * docs/BENCHMARKS.md). SQLite commits synchronously, so it never has more
   * than one in flight anyway.
   * @default 1
   */
  maxGroupsInFlight?: number;
}

/** The say path of the web tier: group commit of concurrent says. */
export interface SayBatcher {
  /**
   * Stores a say and resolves with its result once the transaction holding
   * it has committed (durable before acknowledged); rejects with the say's
   * own refusal (`not_in_room`, …) without failing the says grouped with it.
   * The group's events are published once, after the commit.
   */
  say(input: SayInput): Promise<SayResult>;
}

/**
 * Serialized bytes of an event besides its text and room: keys, seq, at, type,
 * id, and a nickname of up to 32 characters of 4 bytes each.
 */
const EVENT_OVERHEAD_BYTES = 256;

/** An upper estimate of the bytes the event of `input` takes in an outbox row or notify body. */
function estimatedEventBytes(input: SayInput): number {
  return Buffer.byteLength(JSON.stringify(input.text)) + Buffer.byteLength(input.room) + EVENT_OVERHEAD_BYTES;
}

interface PendingSay {
  input: SayInput;
  resolve: (result: SayResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: says that arrive in the same turn of the event loop (one
 * poll phase reads every request the sockets hold) share one transaction and
 * one outbox row, flushed on `setImmediate` or as soon as `maxGroup` are
 * waiting or the next would take the group past `maxGroupBytes`; and while
 * `maxGroupsInFlight` groups are committing, the says that arrive meanwhile
 * gather into the next group. A commit (and its WAL write) and a notify job
 * per GROUP instead of per say is what lets one web process take thousands of
 * says a second; a lone say waits for nothing but the end of its turn.
 */
export function createSayBatcher(options: SayBatcherOptions): SayBatcher {
  const { store, publish, log } = options;
  const maxGroup = options.maxGroup ?? 256;
  const maxGroupBytes = options.maxGroupBytes ?? 256 * 1024;
  const maxGroupsInFlight = Math.max(1, options.maxGroupsInFlight ?? 1);
  /** Groups that are full and wait for a free slot, oldest first. */
  const full: PendingSay[][] = [];
  let pending: PendingSay[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let inFlight = 0;

  const closePending = (): void => {
    if (pending.length > 0) full.push(pending);
    pending = [];
    pendingBytes = 0;
  };

  const commit = (group: PendingSay[]): void => {
    inFlight++;
    store
      .sayMany(group.map((entry) => entry.input))
      .then(
        ({ outcomes, write }) => {
          group.forEach((entry, index) => {
            const outcome = outcomes[index];
            if (outcome === undefined) entry.reject(new Error('say group returned too few outcomes'));
            else if (outcome.ok) entry.resolve(outcome.result);
            else entry.reject(outcome.error);
          });
          publish(write);
        },
        (error: unknown) => {
          // The transaction failed as a whole: nothing of the group was stored.
          log.error({ err: error, says: group.length }, 'say group not stored');
          for (const entry of group) entry.reject(error);
        },
      )
      .finally(() => {
        inFlight--;
        flush();
      });
  };

  /** Starts the waiting groups (full ones first) while there is a free slot. */
  function flush(): void {
    scheduled = false;
    while (inFlight < maxGroupsInFlight) {
      if (full.length === 0) closePending();
      const group = full.shift();
      if (group === undefined) return;
      commit(group);
    }
  }

  if (maxGroup <= 1) {
    return {
      async say(input) {
        const result = await store.say(input);
        if (!result.duplicate) publish(result);
        return result;
      },
    };
  }

  return {
    say(input) {
      return new Promise<SayResult>((resolve, reject) => {
        const bytes = estimatedEventBytes(input);
        if (pending.length > 0 && pendingBytes + bytes > maxGroupBytes) closePending();
        pending.push({ input, resolve, reject });
        pendingBytes += bytes;
        if (pending.length >= maxGroup) {
          closePending();
          flush();
        } else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
