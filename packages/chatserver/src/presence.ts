import type { Redis } from 'ioredis';
import { SESSION_COOKIE, isTokenShaped, presenceKey, presenceRoomsKey, type Logger, type RoomName } from '@parley/protocol';
import { hashSessionToken } from '@parley/protocol/node';

/**
 * Records which sessions observe which rooms (see `presenceKey`). Every call is
 * fire and forget: presence is advisory and never fails or delays an observe.
 */
export interface PresenceRecorder {
  /** The session is seen in `rooms` now (an observe arrived or was answered). */
  touch(rooms: Iterable<RoomName>, tokenHash: string): void;
  /**
   * The session's observe of `rooms` is parked: it is seen again on every
   * refresh until the returned function is called.
   */
  park(rooms: Iterable<RoomName>, tokenHash: string): () => void;
  /** Stops the refresh timer. */
  close(): void;
}

/** Options of `createPresenceRecorder`. */
export interface PresenceRecorderOptions {
  /** A connection without offline queue, so touches fail at once while Redis is down. */
  redis: Redis;
  /** `PARLEY_REDIS_PREFIX`. */
  prefix: string;
  log: Logger;
  /**
   * How often parked observers are seen again, all in one pipelined batch. A
   * hold lasts at most 55 s, so without it a parked session would look gone
   * for that long; 30 s keeps it well inside the 120 s default timeout.
   * @default 30000
   */
  refreshMs?: number;
  /** Clock of the scores. @default Date.now */
  now?: () => number;
}

function sessionTokenFromCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === SESSION_COOKIE) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/** The request headers `observingSession` reads (lower-case names, as node:http and the lean server give them). */
export interface RequestHeaders {
  readonly authorization?: string | undefined;
  readonly cookie?: string | undefined;
}

/**
 * The token hash of the session an observe carries — `Authorization: Bearer`,
 * else the `parley_session` cookie — or `undefined` when anonymous (a
 * `?session=` is refused by the observe itself: `refuseSessionInUrl`). Like
 * the web tier, a JSONP observe (`callback`) ignores the cookie: a `<script>`
 * on some page of this site, a badge, must not keep its signed-in visitor
 * present. The token is not checked against the database (a
 * chatserver never opens it): a made-up one only makes an entry the sweeper
 * finds unknown and drops.
 */
export function observingSession(req: { readonly headers: RequestHeaders }, query: URLSearchParams): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
  const cookie = query.has('callback') ? undefined : sessionTokenFromCookie(req.headers.cookie);
  const token = bearer ?? cookie;
  return token !== undefined && isTokenShaped(token) ? hashSessionToken(token) : undefined;
}

interface ParkedSession {
  rooms: RoomName[];
  tokenHash: string;
}

/**
 * Presence on Redis. Touches are gathered and written once per event-loop
 * turn, in one pipeline of ZADDs plus one SADD of their rooms: a message to a
 * room wakes all its observers at once, and that burst must cost one round
 * trip, not one per observer.
 */
export function createPresenceRecorder(options: PresenceRecorderOptions): PresenceRecorder {
  const { redis, prefix, log } = options;
  const now = options.now ?? Date.now;
  const parked = new Set<ParkedSession>();
  // room → token hashes seen since the last flush (two tabs of a session are one entry).
  const pending = new Map<RoomName, Set<string>>();
  let flushScheduled = false;
  let failing = false;

  function flush(): void {
    flushScheduled = false;
    if (pending.size === 0) return;
    const seenAt = now();
    const pipeline = redis.pipeline();
    for (const [room, tokenHashes] of pending) {
      const scoreMembers: Array<number | string> = [];
      for (const tokenHash of tokenHashes) scoreMembers.push(seenAt, tokenHash);
      pipeline.zadd(presenceKey(prefix, room), ...scoreMembers);
    }
    pipeline.sadd(presenceRoomsKey(prefix), ...pending.keys());
    pending.clear();
    pipeline
      .exec()
      .then((results) => {
        const failure = results?.find(([error]) => error !== null)?.[0];
        if (failure) throw failure;
        if (failing) log.info({}, 'presence recorded again');
        failing = false;
      })
      .catch((error: unknown) => {
        // One line per outage, not one per observe; the next touch tries again.
        if (!failing) log.warn({ err: error }, 'presence not recorded: redis unavailable');
        failing = true;
      });
  }

  function add(rooms: Iterable<RoomName>, tokenHash: string): void {
    for (const room of rooms) {
      let tokenHashes = pending.get(room);
      if (tokenHashes === undefined) pending.set(room, (tokenHashes = new Set()));
      tokenHashes.add(tokenHash);
    }
    if (!flushScheduled && pending.size > 0) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  const refresh = setInterval(() => {
    for (const { rooms, tokenHash } of parked) add(rooms, tokenHash);
  }, options.refreshMs ?? 30_000);
  refresh.unref();

  return {
    touch(rooms, tokenHash) {
      add(rooms, tokenHash);
    },
    park(rooms, tokenHash) {
      const entry: ParkedSession = { rooms: [...rooms], tokenHash };
      parked.add(entry);
      return () => {
        parked.delete(entry);
      };
    },
    close() {
      clearInterval(refresh);
      parked.clear();
      flush();
    },
  };
}
