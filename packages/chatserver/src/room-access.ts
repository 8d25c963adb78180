import { ChatError, type ChatEvent, type Cursor, type Logger, type RoomName } from '@parley/protocol';
import { verifyObserveTicket } from '@parley/protocol/node';
import { SingleFlight } from './single-flight.js';
import type { RoomAccessView, WebClient } from './web-client.js';

/**
 * Who may observe which room: THE one place a chatserver decides it, for
 * every transport (long-poll JSON, JSONP, and the stream), with no database.
 *
 * A room is public, missing (anyone may wait for it, as today) or private. A
 * private room is readable by its members' sessions and by a signed observe
 * ticket naming it; to anyone else it is exactly a missing room: its events
 * are never answered and its cursor stays at 0 (a cursor beyond 0 is
 * `invalid_cursor`, as for a room with no events).
 *
 * What the web tier said (`POST /internal/access`) is cached: public rooms for
 * good (a public room never turns private), a missing room until any event of
 * it arrives, and a private room's answers per session until one of its
 * `enter`, `kick` or `leave` events arrives (a kick must take effect at once;
 * an enter may be a member just added). A session that ends (sign-out, a
 * revoked bot token) is forgotten at once (`sessionEnded`).
 */

/** Who is observing: the session's token hash and the observe ticket, each if given. */
export interface ObserverIdentity {
  sessionHash?: string | undefined;
  ticket?: string | undefined;
}

/** A cursor split by access: the rooms to serve, and the rooms to answer as missing ones (cursor `room:0`). */
export interface CursorView {
  visible: Cursor;
  hidden: RoomName[];
}

/** Options of `RoomAccess`. */
export interface RoomAccessOptions {
  web: Pick<WebClient, 'roomAccess'>;
  /** Shared secret that signs observe tickets. */
  secret: string;
  log: Logger;
  /**
   * Cached session answers per private room before that room's cache is
   * dropped whole (bounds memory under a flood of made-up tokens); also the
   * bound of the cache of which sessions are live.
   * @default 10000
   */
  maxSessionsPerRoom?: number;
  /** Clock of ticket expiry. @default Date.now */
  now?: () => number;
}

type RoomKind = 'public' | 'missing' | 'private';
// The cache key of an anonymous observer (token hashes are 64 hex digits).
const ANONYMOUS = '-';
const MEMBERSHIP_EVENTS: ReadonlySet<string> = new Set(['enter', 'kick', 'leave']);

export class RoomAccess {
  private readonly kinds = new Map<RoomName, RoomKind>();
  private readonly members = new Map<RoomName, Map<string, boolean>>();
  /** The web-tier lookup under way for a room, which later observers of the room wait for. */
  private readonly lookups = new Map<RoomName, Promise<unknown>>();
  /** Token hash → whether the web tier knows it as a live session. */
  private readonly liveSessions = new Map<string, boolean>();
  /** The liveness lookup under way per token: concurrent observes with one token ask once. */
  private readonly livenessLookups = new SingleFlight<string, boolean>();
  private readonly maxSessionsPerRoom: number;
  private readonly now: () => number;

  constructor(private readonly options: RoomAccessOptions) {
    this.maxSessionsPerRoom = options.maxSessionsPerRoom ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Splits `cursor` into what `who` may observe and what must look missing.
   * Throws `invalid_cursor` for a hidden room whose seq is beyond 0 (what a
   * missing room answers), and rejects like the web client when the web
   * tier cannot be asked.
   */
  async view(cursor: Cursor, who: ObserverIdentity): Promise<CursorView> {
    return splitCursor(cursor, await this.hiddenRooms([...cursor.keys()], who));
  }

  /**
   * `view` without a promise when the cache already decides every room of
   * `cursor` for `who` (the case of every observe that comes back), else
   * `undefined`. Throws as `view` does.
   */
  viewKnown(cursor: Cursor, who: ObserverIdentity): CursorView | undefined {
    const known = this.classify(cursor.keys(), who.sessionHash ?? ANONYMOUS, this.ticketRoomOf(who));
    return known.unknown.length === 0 ? splitCursor(cursor, known.hidden) : undefined;
  }

  /**
   * Is `sessionHash` a live session? Asked of the web tier once per token
   * (cached; an ended session is forgotten by `sessionEnded`). A made-up
   * token is not, and must be served as anonymous where that matters.
   */
  async isLiveSession(sessionHash: string): Promise<boolean> {
    const known = this.liveSessions.get(sessionHash);
    if (known !== undefined) return known;
    return this.livenessLookups.run(sessionHash, async () => {
      const { sessionLive } = await this.options.web.roomAccess(sessionHash, []);
      this.rememberSession(sessionHash, sessionLive);
      return sessionLive;
    });
  }

  /**
   * The rooms of `rooms` that `who` may not observe. The first observers of a
   * room usually arrive together (a page load, a reconnect after a restart):
   * they wait for the one lookup already under way for that room instead of
   * each asking the web tier, and only a private room's answer, which is per
   * session, makes another session ask again.
   */
  async hiddenRooms(rooms: readonly RoomName[], who: ObserverIdentity): Promise<Set<RoomName>> {
    const ticketRoom = this.ticketRoomOf(who);
    const key = who.sessionHash ?? ANONYMOUS;
    let known = this.classify(rooms, key, ticketRoom);
    if (known.unknown.length === 0) return known.hidden;
    const underWay = new Set<Promise<unknown>>();
    for (const room of known.unknown) {
      const lookup = this.lookups.get(room);
      if (lookup !== undefined) underWay.add(lookup);
    }
    if (underWay.size > 0) {
      await Promise.allSettled(underWay);
      known = this.classify(rooms, key, ticketRoom);
      if (known.unknown.length === 0) return known.hidden;
    }
    const { hidden, unknown } = known;
    const lookup = this.options.web.roomAccess(who.sessionHash ?? null, unknown);
    for (const room of unknown) if (!this.lookups.has(room)) this.lookups.set(room, lookup);
    let answer: RoomAccessView;
    try {
      answer = await lookup;
    } finally {
      for (const room of unknown) if (this.lookups.get(room) === lookup) this.lookups.delete(room);
    }
    if (who.sessionHash !== undefined) this.rememberSession(who.sessionHash, answer.sessionLive);
    for (const [room, kind] of answer.kinds) {
      if (kind === 'public' || kind === 'missing') {
        this.kinds.set(room, kind);
        continue;
      }
      this.kinds.set(room, 'private');
      this.remember(room, key, kind === 'member');
      if (kind === 'hidden') hidden.add(room);
    }
    return hidden;
  }

  /** The room `who`'s observe ticket lets it read, if it holds a valid one. */
  private ticketRoomOf(who: ObserverIdentity): RoomName | undefined {
    return who.ticket === undefined ? undefined : verifyObserveTicket(this.options.secret, who.ticket, this.now())?.room;
  }

  /** What the cache already says about `rooms` for the observer keyed `key`, and what it does not know. */
  private classify(rooms: Iterable<RoomName>, key: string, ticketRoom: RoomName | undefined): { hidden: Set<RoomName>; unknown: RoomName[] } {
    const hidden = new Set<RoomName>();
    const unknown: RoomName[] = [];
    for (const room of rooms) {
      if (room === ticketRoom) continue;
      const kind = this.kinds.get(room);
      if (kind === 'public' || kind === 'missing') continue;
      const member = kind === 'private' ? this.members.get(room)?.get(key) : undefined;
      if (member === undefined) unknown.push(room);
      else if (!member) hidden.add(room);
    }
    return { hidden, unknown };
  }

  /** Drops what `events` make stale; call before the events wake anyone. */
  noteEvents(events: readonly ChatEvent[]): void {
    for (const event of events) {
      const kind = this.kinds.get(event.room);
      if (kind === 'missing') this.kinds.delete(event.room);
      else if (kind === 'private' && MEMBERSHIP_EVENTS.has(event.type)) this.members.delete(event.room);
    }
  }

  /** Forgets every answer about a session that ended. */
  sessionEnded(sessionHash: string): void {
    for (const sessions of this.members.values()) sessions.delete(sessionHash);
    this.liveSessions.delete(sessionHash);
  }

  private rememberSession(sessionHash: string, live: boolean): void {
    if (this.liveSessions.size >= this.maxSessionsPerRoom) this.liveSessions.clear();
    this.liveSessions.set(sessionHash, live);
  }

  private remember(room: RoomName, key: string, member: boolean): void {
    let sessions = this.members.get(room);
    if (sessions === undefined || sessions.size >= this.maxSessionsPerRoom) {
      sessions = new Map();
      this.members.set(room, sessions);
    }
    sessions.set(key, member);
  }
}

/** `cursor` split into the rooms to serve and `hidden`; a hidden room's seq beyond 0 is `invalid_cursor`, as for a missing room. */
function splitCursor(cursor: Cursor, hidden: ReadonlySet<RoomName>): CursorView {
  if (hidden.size === 0) return { visible: cursor, hidden: [] };
  const visible: Cursor = new Map();
  for (const [room, seq] of cursor) {
    if (!hidden.has(room)) {
      visible.set(room, seq);
      continue;
    }
    if (seq !== null && seq > 0) {
      throw new ChatError('invalid_cursor', `cursor of room ${room} is ahead of the room (seq ${seq} > 0)`);
    }
  }
  return { visible, hidden: [...hidden] };
}

/**
 * The answer JSON `{"events":[…],"cursor":"…"}` with the hidden rooms added
 * to its cursor at 0, as a missing room would stand in it.
 */
export function withHiddenRooms(answerJson: string, hidden: readonly RoomName[]): string {
  if (hidden.length === 0) return answerJson;
  const extra = hidden.map((room) => `${room}:0`).join(',');
  const emptyCursor = answerJson.endsWith('"cursor":""}');
  return `${answerJson.slice(0, -2)}${emptyCursor ? '' : ','}${extra}"}`;
}
