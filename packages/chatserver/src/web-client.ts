import { Pool } from 'undici';
import {
  ROOM_ACCESS_PATH,
  ROOM_HEADS_PATH,
  type RoomAccessBody,
  type RoomAccessKind,
  isChatEvent,
  type Logger,
  type RoomEventsInternalAnswer,
  type RoomHeadsBody,
  type RoomName,
  type Seq,
} from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import { SingleFlight } from './single-flight.js';

/** Most events the web tier returns for one request. */
export const WEB_EVENTS_LIMIT = 500;

/** Reads a room's head and events from the web tier's signed internal endpoint. */
export interface WebClient {
  /**
   * `GET /internal/rooms/:room/events?after=N&limit=L` on the first web URL that
   * answers. Without `after` the answer holds no events, only the head.
   * Concurrent identical requests share one HTTP request.
   */
  roomEvents(room: RoomName, after?: Seq, limit?: number): Promise<RoomEventsInternalAnswer>;
  /**
   * `POST /internal/heads` on the first web URL that answers: the head seq of
   * each room (at most `MAX_ROOM_HEADS`), 0 for a room that does not exist.
   */
  roomHeads(rooms: readonly RoomName[]): Promise<Map<RoomName, Seq>>;
  /**
   * `POST /internal/access` on the first web URL that answers: how the
   * session with token hash `session` (`null`: anonymous) may read each room.
   */
  roomAccess(session: string | null, rooms: readonly RoomName[]): Promise<Map<RoomName, RoomAccessKind>>;
  /** Closes the keep-alive pools. */
  close(): Promise<void>;
}

/** Options of `createWebClient`. */
export interface WebClientOptions {
  /** Web base URLs (only their origin is used), tried in turn. */
  urls: readonly string[];
  /** Shared HMAC secret. */
  secret: string;
  log: Logger;
  /** Bound on one request to one web process, connect to last byte. @default 2000 */
  timeoutMs?: number;
  /** Keep-alive connections per web process. @default 8 */
  connections?: number;
}

/** Thrown when no web URL gave a usable answer. */
export class WebTierUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebTierUnavailableError';
  }
}

/** Builds a `WebClient` over undici keep-alive pools, one per web URL. */
export function createWebClient(options: WebClientOptions): WebClient {
  if (options.urls.length === 0) throw new Error('at least one web URL is needed');
  const timeoutMs = options.timeoutMs ?? 2000;
  const pools = options.urls.map((url) => new Pool(new URL(url).origin, {
    connections: options.connections ?? 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  }));
  const flights = new SingleFlight<string, RoomEventsInternalAnswer>();
  // Index of the URL that answered last: stick with a working one, move on after a failure.
  let preferred = 0;

  async function requestOnce(pool: Pool, path: string, room: RoomName, after: Seq | undefined): Promise<RoomEventsInternalAnswer> {
    const headers = signRequest(options.secret, { method: 'GET', path, body: '' });
    const { statusCode, body } = await pool.request({
      method: 'GET',
      path,
      headers: { ...headers, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (statusCode !== 200) {
      await body.dump();
      throw new Error(`status ${statusCode}`);
    }
    return checkAnswer(await body.json(), room, after);
  }

  async function headsOnce(pool: Pool, rooms: readonly RoomName[]): Promise<Map<RoomName, Seq>> {
    const body = JSON.stringify({ rooms: [...rooms] } satisfies RoomHeadsBody);
    const headers = signRequest(options.secret, { method: 'POST', path: ROOM_HEADS_PATH, body });
    const { statusCode, body: answer } = await pool.request({
      method: 'POST',
      path: ROOM_HEADS_PATH,
      headers: { ...headers, accept: 'application/json', 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (statusCode !== 200) {
      await answer.dump();
      throw new Error(`status ${statusCode}`);
    }
    return checkHeads(await answer.json(), rooms);
  }

  async function accessOnce(pool: Pool, session: string | null, rooms: readonly RoomName[]): Promise<Map<RoomName, RoomAccessKind>> {
    const body = JSON.stringify({ session, rooms: [...rooms] } satisfies RoomAccessBody);
    const headers = signRequest(options.secret, { method: 'POST', path: ROOM_ACCESS_PATH, body });
    const { statusCode, body: answer } = await pool.request({
      method: 'POST',
      path: ROOM_ACCESS_PATH,
      headers: { ...headers, accept: 'application/json', 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (statusCode !== 200) {
      await answer.dump();
      throw new Error(`status ${statusCode}`);
    }
    return checkAccess(await answer.json(), rooms);
  }

  async function fromAny<T>(room: RoomName | undefined, attemptOn: (pool: Pool) => Promise<T>): Promise<T> {
    let lastError = 'no web URL';
    for (let attempt = 0; attempt < pools.length; attempt++) {
      const index = (preferred + attempt) % pools.length;
      const pool = pools[index] as Pool;
      try {
        const answer = await attemptOn(pool);
        preferred = index;
        return answer;
      } catch (error) {
        lastError = (error as Error).message;
        options.log.warn({ url: options.urls[index], room: room ?? '', error: lastError }, 'web tier request failed');
      }
    }
    throw new WebTierUnavailableError(`web tier unavailable: ${lastError}`);
  }

  return {
    roomEvents(room, after, limit = WEB_EVENTS_LIMIT) {
      const path = after === undefined
        ? `/internal/rooms/${room}/events`
        : `/internal/rooms/${room}/events?after=${after}&limit=${limit}`;
      return flights.run(path, () => fromAny(room, (pool) => requestOnce(pool, path, room, after)));
    },
    roomHeads(rooms) {
      return fromAny(undefined, (pool) => headsOnce(pool, rooms));
    },
    roomAccess(session, rooms) {
      return fromAny(undefined, (pool) => accessOnce(pool, session, rooms));
    },
    async close() {
      await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
    },
  };
}

/**
 * Checks the web tier's answer: a head seq, and events of this room that
 * continue exactly after `after` without a gap, so nothing built from them can
 * skip an event.
 */
function checkAnswer(value: unknown, room: RoomName, after: Seq | undefined): RoomEventsInternalAnswer {
  if (typeof value !== 'object' || value === null) throw new Error('answer is not an object');
  const { events, seq } = value as { events?: unknown; seq?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new Error('answer has no head seq');
  if (!Array.isArray(events)) throw new Error('answer has no events');
  if (after === undefined) return { events: [], seq };
  let expected = after + 1;
  for (const event of events) {
    if (!isChatEvent(event) || event.room !== room || event.seq !== expected) {
      throw new Error('answer events are not the contiguous events of the room');
    }
    expected++;
  }
  // The head can only be behind its own events if the answer is inconsistent.
  if (seq < expected - 1) throw new Error('answer head is behind its events');
  return { events, seq };
}

/** Checks a heads answer: a safe non-negative integer head for every room asked. */
function checkHeads(value: unknown, rooms: readonly RoomName[]): Map<RoomName, Seq> {
  const heads = (typeof value === 'object' && value !== null ? (value as { heads?: unknown }).heads : undefined);
  if (typeof heads !== 'object' || heads === null) throw new Error('answer has no heads');
  const result = new Map<RoomName, Seq>();
  for (const room of rooms) {
    const seq: unknown = (heads as Record<string, unknown>)[room];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new Error(`answer has no head for ${room}`);
    result.set(room, seq);
  }
  return result;
}

const ACCESS_KINDS: ReadonlySet<string> = new Set(['public', 'missing', 'member', 'hidden']);

/** Checks an access answer: one known kind for every room asked. */
function checkAccess(value: unknown, rooms: readonly RoomName[]): Map<RoomName, RoomAccessKind> {
  const access = typeof value === 'object' && value !== null ? (value as { access?: unknown }).access : undefined;
  if (typeof access !== 'object' || access === null) throw new Error('answer has no access');
  const result = new Map<RoomName, RoomAccessKind>();
  for (const room of rooms) {
    const kind: unknown = (access as Record<string, unknown>)[room];
    if (typeof kind !== 'string' || !ACCESS_KINDS.has(kind)) throw new Error(`answer has no access for ${room}`);
    result.set(room, kind as RoomAccessKind);
  }
  return result;
}
