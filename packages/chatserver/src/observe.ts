import {
  ChatError,
  MAX_CURSOR_ROOMS,
  formatCursor,
  parseCallbackName,
  parseCursor,
  parseIntegerParameter,
  refuseSessionInUrl,
  type Cursor,
  type Logger,
  type RoomName,
  type Seq,
} from '@parley/protocol';
import { retryAfterHeader, sendAnswer } from '@parley/protocol/node';
import { buildAnswer, buildAnswerNow, emptyAnswer, hasEventsAfter } from './answer.js';
import { JSON_HEADERS, sendError, sendJson, sendJsonp, toChatError } from './http-util.js';
import type { AnswerCache, CachedAnswer } from './answer-cache.js';
import { httpDate, prebuiltAnswer, type AnswerSink, type LeanResponse } from './lean-http.js';
import type { FinishReason, ObserverRegistry, ParkedObserver, ResolvedCursor } from './observer-registry.js';
import type { RoomDirectory } from './room-directory.js';
import type { PresenceRecorder } from './presence.js';
import type { SessionObserveCounter } from './session-observes.js';
import type { ChatServerMetrics } from './metrics.js';
import type { WebClient } from './web-client.js';
import type { HoldWheel } from './hold-wheel.js';
import { withHiddenRooms, type ObserverIdentity, type RoomAccess } from './room-access.js';

/** Path of the long-poll observe (JSON and JSONP). */
export const OBSERVE_PATH = '/api/observe';
/**
 * Request header with which a proxy (nginx) offers to carry a long hold in
 * hops of at most this many seconds (`observeHopSeconds`).
 */
export const OBSERVE_HOP_HEADER = 'x-parley-observe-hop';
/** Default hold of an observe, seconds. */
export const DEFAULT_WAIT_SECONDS = 25;
/** Longest hold a client may ask for, seconds; nginx's read timeout is above it. */
export const MAX_WAIT_SECONDS = 55;
// Jitter is up to 10 % of the wait, at most 2 s: enough to spread clients that
// started together, small enough that a 55 s poll still ends well before nginx gives up.
const JITTER_SHARE = 0.1;
const MAX_JITTER_MS = 2000;

/** What the observe handler works with. */
export interface ObserveContext {
  rooms: RoomDirectory;
  observers: ObserverRegistry;
  /** Ends parked long-polls when their hold is over (one timer for all). */
  holds: HoldWheel<ParkedObserver>;
  /** Answers by cursor, shared by every observe at that cursor until a room of it advances. */
  answers: AnswerCache;
  web: WebClient;
  log: Logger;
  /** Parked observes allowed before answering 503. */
  maxObservers: number;
  /** Rooms an observe without a session may name. @default MAX_CURSOR_ROOMS */
  maxAnonymousObserveRooms?: number;
  /** True once shutdown started: nothing new is parked. */
  isClosing(): boolean;
  /** Where observing sessions are recorded (absent: presence is not tracked). */
  presence?: PresenceRecorder;
  /** Counts for /metrics (absent: nothing is counted). */
  metrics?: ChatServerMetrics;
  /** Parked observes per session (absent: not limited per session). */
  sessionObserves?: SessionObserveCounter;
  /** Who may observe which room (absent: every room is public, as before accounts). */
  access?: RoomAccess;
}

/**
 * Seconds a session over its parked-observe limit is asked to wait: by then
 * one of its parked observes has usually been answered.
 */
export const SESSION_OBSERVE_RETRY_SECONDS = 5;

/** How one observe request answers: JSON, or JSONP when a valid callback was given. */
interface Replier {
  answer(json: string): void;
  /** Answers with a cached answer, shared by every observe at the same cursor. */
  answerShared(cached: CachedAnswer): void;
  error(error: ChatError): void;
  /** Hands the rest of the observe back to the proxy: it asks `target` next (`X-Accel-Redirect`), and the client sees one answer. */
  continueAt(target: string): void;
}

const NO_EXTRA_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const CLOSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ connection: 'close' });

function isLean(res: AnswerSink): res is LeanResponse {
  return 'endPrebuilt' in res;
}

function replierFor(res: AnswerSink, callback: string | undefined, ctx: ObserveContext): Replier {
  // During shutdown, close the connection after the answer so clients reconnect elsewhere.
  const extra = (): Readonly<Record<string, string>> => (ctx.isClosing() ? CLOSE_HEADERS : NO_EXTRA_HEADERS);
  if (callback === undefined) {
    return {
      answer: (json) => { ctx.metrics?.answerWritten(); sendJson(res, 200, json, extra()); },
      answerShared(cached) {
        ctx.metrics?.answerWritten();
        // One Buffer per cursor (and second, for its Date), written as is to every such socket.
        if (isLean(res) && !ctx.isClosing() && !res.headersSent) {
          const date = httpDate();
          if (cached.raw === undefined || cached.rawDate !== date) {
            ctx.answers.setRaw(cached, prebuiltAnswer(JSON_HEADERS, cached.json), date);
          }
          if (res.endPrebuilt(cached.raw as Buffer)) return;
        }
        sendJson(res, 200, cached.json, extra());
      },
      error: (error) => sendError(res, error, extra()),
      continueAt: (target) => sendContinuation(res, target, extra()),
    };
  }
  return {
    answer: (json) => { ctx.metrics?.answerWritten(); sendJsonp(res, callback, json, extra()); },
    answerShared: (cached) => { ctx.metrics?.answerWritten(); sendJsonp(res, callback, cached.json, extra()); },
    // A <script> cannot read a 4xx status, so errors go inside the callback.
    error: (error) => sendJsonp(res, callback, JSON.stringify(error.toBody()), { ...retryAfterHeader(error), ...extra() }),
    continueAt: (target) => sendContinuation(res, target, extra()),
  };
}

// nginx takes the answer's place with a request to `target`: the client sees nothing of it.
function sendContinuation(res: AnswerSink, target: string, extra: Readonly<Record<string, string>>): void {
  sendAnswer(res, 200, { 'x-accel-redirect': target, ...extra }, '');
}

/**
 * The hop a proxy offered (`X-Parley-Observe-Hop`, whole seconds), else
 * `undefined`. nginx can tell a frozen chatserver only by its silence, so it
 * times an observe out a little after the longest a healthy one holds it and
 * replays it elsewhere. A hold longer than the hop is therefore served in
 * hops: when a hop ends with nothing to answer, the chatserver answers with an
 * `X-Accel-Redirect` to the same observe from its resolved cursor with the rest
 * of the wait, which nginx follows itself (on any chatserver). The client still
 * sees one answer after `wait` seconds, and no upstream request stays silent
 * for longer than the hop.
 */
export function observeHopSeconds(headers: Readonly<Record<string, string | undefined>>): number | undefined {
  const value = Number(headers[OBSERVE_HOP_HEADER] ?? Number.NaN);
  return Number.isInteger(value) && value >= 1 && value <= MAX_WAIT_SECONDS ? value : undefined;
}

/** The observe a hop continues with: the same request from its resolved cursor (hidden rooms at 0), with `waitSeconds` left. */
function continuationTarget(query: URLSearchParams, view: ObserveView, waitSeconds: number): string {
  const rooms = new Map(view.resolved);
  for (const room of view.hidden) rooms.set(room, 0);
  const next = new URLSearchParams(query);
  next.set('rooms', formatCursor(rooms));
  next.set('wait', String(waitSeconds));
  return `${OBSERVE_PATH}?${next.toString()}`;
}

/**
 * A replier that answers private rooms the observer may not see as missing
 * rooms: each stands in the answer's cursor at 0 and never carries an event.
 */
function concealing(reply: Replier, hidden: readonly RoomName[]): Replier {
  if (hidden.length === 0) return reply;
  return {
    answer: (json) => reply.answer(withHiddenRooms(json, hidden)),
    answerShared: (cached) => reply.answer(withHiddenRooms(cached.json, hidden)),
    error: (error) => reply.error(error),
    continueAt: (target) => reply.continueAt(target),
  };
}

/**
 * `GET /api/observe?rooms=CURSOR&wait=S[&callback=NAME][&ticket=T]`: answers at once when
 * any room has events after the cursor, else parks the request until an event
 * of one of its rooms arrives, the hold ends, the client leaves or the server
 * shuts down. `sessionHash` (see `observingSession`) is recorded as present
 * in the cursor's rooms when the observe arrives, while it is parked and when
 * it ends; an anonymous observe records nothing.
 */
export function handleObserve(query: URLSearchParams, res: AnswerSink, ctx: ObserveContext, sessionHash?: string, hopSeconds?: number): void {
  const callbackParam = query.get('callback');
  let callback: string | undefined;
  if (callbackParam !== null) {
    try {
      callback = parseCallbackName(callbackParam);
    } catch (error) {
      // An invalid callback cannot carry its own error: plain JSON 400.
      sendError(res, toChatError(error));
      return;
    }
  }
  const reply = replierFor(res, callback, ctx);
  const fail = (error: unknown): void => {
    const chatError = toChatError(error);
    if (chatError.status >= 500) {
      ctx.log.warn({ code: chatError.code, err: error }, 'observe failed');
    }
    reply.error(chatError);
  };
  try {
    refuseSessionInUrl(query);
    const cursor = parseObserveCursor(query.get('rooms') ?? undefined, ctx, sessionHash);
    const waitSeconds = parseIntegerParameter('wait', query.get('wait') ?? undefined, { min: 0, max: MAX_WAIT_SECONDS })
      ?? DEFAULT_WAIT_SECONDS;
    const hold: Hold = { query, waitSeconds, hopSeconds };
    const who: ObserverIdentity = { sessionHash, ticket: query.get('ticket') ?? undefined };
    // Private rooms this observer may not read are served as missing rooms (room-access.ts).
    // An observe coming back finds its rooms known: served with no promise at all.
    const known = resolveObserveCursorNow(cursor, ctx, who);
    if (known !== undefined) {
      observeResolved(known, hold, res, reply, ctx, sessionHash)?.catch(fail);
      return;
    }
    askObserveCursor(cursor, ctx, who)
      .then((view) => observeResolved(view, hold, res, reply, ctx, sessionHash))
      .catch(fail);
  } catch (error) {
    fail(error);
  }
}

/** How long an observe may be held: its `wait`, and the proxy's hop (`observeHopSeconds`). */
interface Hold {
  query: URLSearchParams;
  waitSeconds: number;
  hopSeconds: number | undefined;
}

/** The rest of `handleObserve` once its rooms are resolved; a promise only when the web tier must be asked for events. */
function observeResolved(
  view: ObserveView,
  hold: Hold,
  res: AnswerSink,
  plainReply: Replier,
  ctx: ObserveContext,
  sessionHash: string | undefined,
): Promise<void> | undefined {
  const { resolved, hidden } = view;
  const reply = concealing(plainReply, hidden);
  // Seen when the observe arrives, while it is parked and when it ends: a
  // session that keeps observing never looks older than one refresh.
  if (sessionHash !== undefined) ctx.presence?.touch(resolved.keys(), sessionHash);
  if (res.destroyed) return undefined;
  const cursorText = formatCursor(resolved);
  if (hasEventsAfter(resolved, ctx.rooms)) {
    // Under load most observes land here (the client comes back after the
    // next event arrived), all at the same few cursors: share one answer.
    const cached = cachedAnswer(resolved, cursorText, ctx);
    if (cached !== undefined) {
      reply.answerShared(cached);
      return undefined;
    }
    return buildAnswer(resolved, ctx.rooms, ctx.web, ctx.metrics).then((json) => reply.answer(json));
  }
  const { waitSeconds, hopSeconds } = hold;
  if (waitSeconds === 0 || ctx.isClosing()) {
    reply.answer(emptyAnswer(cursorText));
    return undefined;
  }
  admitObserver(ctx, sessionHash);
  if (hopSeconds !== undefined && waitSeconds > hopSeconds) {
    const rest = waitSeconds - hopSeconds;
    parkObserver(resolved, cursorText, holdMs(hopSeconds), res, reply, ctx, sessionHash, () => reply.continueAt(continuationTarget(hold.query, view, rest)));
  } else {
    parkObserver(resolved, cursorText, holdMs(waitSeconds), res, reply, ctx, sessionHash);
  }
  return undefined;
}

/** Parses an observe's cursor (`rooms`, or a stream's `Last-Event-ID`) within the room limits of its kind. */
export function parseObserveCursor(text: string | undefined, ctx: ObserveContext, sessionHash: string | undefined): Cursor {
  // Anonymous observes (badges) are the cheapest to send in bulk: fewer rooms each.
  const maxRooms = sessionHash === undefined ? ctx.maxAnonymousObserveRooms : undefined;
  return parseCursor(text, maxRooms);
}

/** An observe's rooms as resolved: those it is served, and the private ones it must see as missing rooms. */
export interface ObserveView {
  resolved: ResolvedCursor;
  /** Rooms `who` may not read: they stand in its cursor at 0 and never carry an event. */
  hidden: readonly RoomName[];
}

/**
 * The one place where the rooms of an observe — long-poll, JSONP or stream —
 * are checked against who may read them (`RoomAccess.view`: a private room
 * of which `who` is no member, nor holds a ticket for, looks missing) and
 * resolved against what this chatserver knows: every transport comes through here.
 */
export async function resolveObserveCursor(cursor: Cursor, ctx: ObserveContext, who: ObserverIdentity = {}): Promise<ObserveView> {
  return resolveObserveCursorNow(cursor, ctx, who) ?? (await askObserveCursor(cursor, ctx, who));
}

/** `resolveObserveCursor` once `resolveObserveCursorNow` found something to ask: the web tier's access answers, heads or events. */
async function askObserveCursor(cursor: Cursor, ctx: ObserveContext, who: ObserverIdentity): Promise<ObserveView> {
  // A made-up token must not lift the anonymous room limit (parseObserveCursor
  // let it through): past that limit the session must be a live one.
  const anonymousLimit = ctx.maxAnonymousObserveRooms ?? MAX_CURSOR_ROOMS;
  if (who.sessionHash !== undefined && cursor.size > anonymousLimit && ctx.access !== undefined && !(await ctx.access.isLiveSession(who.sessionHash))) {
    throw new ChatError('invalid_cursor', `at most ${anonymousLimit} rooms per observe`);
  }
  const view = ctx.access === undefined ? { visible: cursor, hidden: [] } : await ctx.access.view(cursor, who);
  const resolved = resolveKnownCursor(view.visible, ctx) ?? (await resolveCursor(view.visible, ctx));
  return { resolved, hidden: view.hidden };
}

/**
 * `resolveObserveCursor` without a promise when nothing must be asked: every
 * room's access is cached for `who` and known here at a seq not beyond its
 * head; else `undefined`. Throws as `resolveObserveCursor` does.
 */
export function resolveObserveCursorNow(cursor: Cursor, ctx: ObserveContext, who: ObserverIdentity = {}): ObserveView | undefined {
  const anonymousLimit = ctx.maxAnonymousObserveRooms ?? MAX_CURSOR_ROOMS;
  // Past the anonymous limit the session must be checked live (possibly by asking the web tier).
  if (who.sessionHash !== undefined && cursor.size > anonymousLimit && ctx.access !== undefined) return undefined;
  const view = ctx.access === undefined ? { visible: cursor, hidden: [] } : ctx.access.viewKnown(cursor, who);
  if (view === undefined) return undefined;
  const resolved = resolveKnownCursor(view.visible, ctx);
  return resolved === undefined ? undefined : { resolved, hidden: view.hidden };
}

/** A resolved cursor's text with the hidden rooms standing in it at 0, as missing rooms do. */
export function withHiddenCursor(cursorText: string, hidden: readonly RoomName[]): string {
  if (hidden.length === 0) return cursorText;
  const extra = hidden.map((room) => `${room}:0`).join(',');
  return cursorText === '' ? extra : `${cursorText},${extra}`;
}

/**
 * Counts one more held observe (parked long-poll or open stream) against the
 * chatserver's and the session's limits; throws 503 `unavailable` or 429
 * `rate_limited` (counting nothing) past either. The caller must
 * `sessionObserves.remove(sessionHash)` when the observe ends.
 */
export function admitObserver(ctx: ObserveContext, sessionHash: string | undefined): void {
  if (ctx.observers.count >= ctx.maxObservers) {
    ctx.metrics?.observeRefused();
    throw new ChatError('unavailable', 'too many observers on this chatserver, try again', { retryAfterSeconds: 1 });
  }
  if (sessionHash !== undefined && ctx.sessionObserves?.tryAdd(sessionHash) === false) {
    throw new ChatError('rate_limited', `this session already has ${ctx.sessionObserves.max} observes waiting: share one or try again later`, {
      retryAfterSeconds: SESSION_OBSERVE_RETRY_SECONDS,
    });
  }
}

/**
 * The answer for `cursor` from the cache, else built from the rooms' buffers
 * and cached; `undefined` when a buffer does not reach back to the cursor (the
 * web tier must be asked; such answers are not cached).
 *
 * Every observer woken at one cursor, and every client coming back behind the
 * head by the same events, shares one answer. Any client may ask for any
 * cursor the buffers still hold, so what is cached is bounded twice: by the
 * buffers (a few hundred cursors per room) and by the cache's byte budget.
 */
function cachedAnswer(cursor: ResolvedCursor, cursorText: string, ctx: ObserveContext): CachedAnswer | undefined {
  const cached = ctx.answers.get(cursorText);
  if (cached !== undefined) return cached;
  const json = buildAnswerNow(cursor, ctx.rooms, ctx.metrics);
  return json === undefined ? undefined : ctx.answers.set(cursorText, cursor.keys(), json);
}

/** The hold of a parked observe: the wait minus up to 10 % (at most 2 s) of jitter. */
export function holdMs(waitSeconds: number, random: number = Math.random()): number {
  const waitMs = waitSeconds * 1000;
  // Whole 10 ms steps (the hold wheel's resolution is coarser still).
  return Math.round((waitMs - random * Math.min(waitMs * JITTER_SHARE, MAX_JITTER_MS)) / 10) * 10;
}

/**
 * `resolveCursor` without a promise when every room is known here and no
 * seq is beyond its head (the common case: a client coming back with the
 * cursor of its last answer), else `undefined`.
 */
function resolveKnownCursor(cursor: Cursor, ctx: ObserveContext): ResolvedCursor | undefined {
  const resolved: ResolvedCursor = new Map();
  const now = Date.now();
  for (const [room, seq] of cursor) {
    const buffer = ctx.rooms.get(room);
    if (buffer === undefined || (seq !== null && seq > buffer.head)) return undefined;
    resolved.set(room, seq ?? buffer.head);
  }
  for (const room of resolved.keys()) ctx.rooms.get(room)?.touch(now);
  return resolved;
}

/**
 * Resolves every room of the cursor against what this chatserver knows:
 * unknown rooms load their heads from the web tier (one request for all), a bare room becomes its
 * head, and a seq beyond the head makes this chatserver catch up from the web
 * tier first (it may just lag); still beyond is `invalid_cursor`.
 */
async function resolveCursor(cursor: Cursor, ctx: ObserveContext): Promise<ResolvedCursor> {
  const buffers = await ctx.rooms.ensureAll([...cursor.keys()]);
  const now = Date.now();
  for (const buffer of buffers) buffer.touch(now);
  const ahead: RoomName[] = [];
  for (const buffer of buffers) {
    const seq = cursor.get(buffer.name);
    if (seq !== null && seq !== undefined && seq > buffer.head) ahead.push(buffer.name);
  }
  await Promise.all(ahead.map((room) => ctx.rooms.repair(room)));
  const resolved = new Map<RoomName, Seq>();
  for (const [room, seq] of cursor) {
    const head = ctx.rooms.get(room)?.head ?? 0;
    if (seq !== null && seq > head) {
      throw new ChatError('invalid_cursor', `cursor of room ${room} is ahead of the room (seq ${seq} > ${head})`);
    }
    resolved.set(room, seq ?? head);
  }
  return resolved;
}

function parkObserver(
  cursor: ResolvedCursor,
  cursorText: string,
  holdForMs: number,
  res: AnswerSink,
  reply: Replier,
  ctx: ObserveContext,
  sessionHash: string | undefined,
  /** What a hold that ends with nothing to answer does instead of the empty answer (a hop's continuation). */
  onHoldEnd?: () => void,
): void {
  let finished = false;
  const stopRefresh = sessionHash === undefined ? undefined : ctx.presence?.park(cursor.keys(), sessionHash);
  const onClose = (): void => observer.finish('closed');
  const observer: ParkedObserver = {
    cursor,
    cursorText,
    sessionHash,
    finish(reason: FinishReason, shared?: Map<string, Promise<string>>): void {
      if (finished) return;
      finished = true;
      ctx.holds.remove(observer, hold);
      res.off('close', onClose);
      ctx.observers.unpark(observer);
      if (sessionHash !== undefined) ctx.sessionObserves?.remove(sessionHash);
      stopRefresh?.();
      if (sessionHash !== undefined) ctx.presence?.touch(cursor.keys(), sessionHash);
      if (reason === 'closed') return;
      if (reason === 'timeout' && onHoldEnd !== undefined) {
        onHoldEnd();
        return;
      }
      if (reason !== 'wake') {
        reply.answer(emptyAnswer(cursorText));
        return;
      }
      const cached = cachedAnswer(cursor, cursorText, ctx);
      if (cached !== undefined) {
        reply.answerShared(cached);
        return;
      }
      let answer = shared?.get(cursorText);
      if (answer === undefined) {
        answer = buildAnswer(cursor, ctx.rooms, ctx.web, ctx.metrics);
        shared?.set(cursorText, answer);
      }
      answer.then(
        (json) => reply.answer(json),
        (error: unknown) => {
          ctx.log.warn({ err: error }, 'observe answer failed');
          reply.error(toChatError(error));
        },
      );
    },
  };
  const hold = ctx.holds.add(observer, holdForMs);
  res.once('close', onClose);
  ctx.observers.park(observer);
}
