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
import { createSignedClient } from '@parley/protocol/node';
import { SingleFlight } from './single-flight.js';

/** Most events the web tier returns for one request. */
export const WEB_EVENTS_LIMIT = 500;

/** The web tier's answer about one observer: how it may read each asked room, and whether its session is live. */
export interface RoomAccessView {
  kinds: Map<RoomName, RoomAccessKind>;
  /** False for a token the web tier does not know (made up, or ended): that observer is anonymous. */
  sessionLive: boolean;
}

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
  roomAccess(session: string | null, rooms: readonly RoomName[]): Promise<RoomAccessView>;
  /** Closes the keep-alive pools. */
  close(): Promise<void>;
}

/** Options of `createWebClient`. */
export interface WebClientOptions {
  /** Web base URLs (only their origin is used), tried in turn. */
  urls: readonly string[];
  /** Shared HMAC secret. */
  secret: string;
  /** Every failed attempt is logged (`'web tier request failed'`). */
  log: Logger;
  /** Bound on one request to one web process, connect to last byte. @default 2000 */
  timeoutMs?: number;
  /** Keep-alive connections per web process. @default 8 */
  connections?: number;
}

/**
 * Builds a `WebClient` on the signed client (keep-alive pools, failover
 * across the URLs); it checks every answer before anything is built from it.
 */
export function createWebClient(options: WebClientOptions): WebClient {
  const client = createSignedClient({
    urls: options.urls,
    secret: options.secret,
    log: options.log,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.connections === undefined ? {} : { connections: options.connections }),
  });
  const flights = new SingleFlight<string, RoomEventsInternalAnswer>();

  return {
    roomEvents(room, after, limit = WEB_EVENTS_LIMIT) {
      const path = after === undefined
        ? `/internal/rooms/${room}/events`
        : `/internal/rooms/${room}/events?after=${after}&limit=${limit}`;
      return flights.run(path, () =>
        client.request({ method: 'GET', path, logFields: { room } }, (json) => checkAnswer(json, room, after)),
      );
    },
    roomHeads(rooms) {
      const body = JSON.stringify({ rooms: [...rooms] } satisfies RoomHeadsBody);
      return client.request({ method: 'POST', path: ROOM_HEADS_PATH, body }, (json) => checkHeads(json, rooms));
    },
    roomAccess(session, rooms) {
      const body = JSON.stringify({ session, rooms: [...rooms] } satisfies RoomAccessBody);
      return client.request({ method: 'POST', path: ROOM_ACCESS_PATH, body }, (json) => checkAccess(json, rooms));
    },
    close: () => client.close(),
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
function checkAccess(value: unknown, rooms: readonly RoomName[]): RoomAccessView {
  const { access, sessionLive } = (typeof value === 'object' && value !== null ? value : {}) as { access?: unknown; sessionLive?: unknown };
  if (typeof access !== 'object' || access === null) throw new Error('answer has no access');
  const result = new Map<RoomName, RoomAccessKind>();
  for (const room of rooms) {
    const kind: unknown = (access as Record<string, unknown>)[room];
    if (typeof kind !== 'string' || !ACCESS_KINDS.has(kind)) throw new Error(`answer has no access for ${room}`);
    result.set(room, kind as RoomAccessKind);
  }
  // An older web tier does not say: the token is trusted, as it was before.
  return { kinds: result, sessionLive: sessionLive !== false };
}
