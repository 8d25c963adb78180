import { formatCursor, refuseSessionInUrl, type RoomName, type Seq } from '@parley/protocol';
import { eventsAfterCursor, eventsAfterCursorNow, hasEventsAfter } from './answer.js';
import { JSON_HEADERS, sendError, toChatError } from './http-util.js';
import type { LeanResponse } from './lean-http.js';
import { admitObserver, parseObserveCursor, resolveObserveCursor, withHiddenCursor, type ObserveContext } from './observe.js';
import type { FinishReason, ParkedObserver, ResolvedCursor } from './observer-registry.js';

/** Path of the EventSource observe. */
export const STREAM_PATH = '/api/observe/stream';

/** Options of a `StreamHub`. */
export interface StreamHubOptions {
  /**
   * A stream with nothing written for this long gets a `:` comment, so
   * proxies and browsers see it alive (nginx's read timeout is above it).
   * @default 1000
   */
  heartbeatMs?: number;
  /**
   * A stream ends after at most this long (minus up to 10 % jitter, so
   * streams opened together do not all come back together); the browser
   * reconnects with `Last-Event-ID`. Bounds what one connection can hold.
   * @default 600000
   */
  lifetimeMs?: number;
  /**
   * How often heartbeats and lifetimes are checked, for every stream at once;
   * at most half the heartbeat, so no gap exceeds 1.5 heartbeats. @default 1000
   */
  sweepMs?: number;
}

// The browser's pause before it reconnects a stream that ended (a shutdown,
// the end of a lifetime): short, the cursor makes the reconnect exact.
const RETRY_MS = 1000;
const LIFETIME_JITTER_SHARE = 0.1;
const HEARTBEAT = Buffer.from(':\n\n');

/** Headers of a stream answer: nginx must not buffer it (`X-Accel-Buffering`), nobody may cache it. */
const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...JSON_HEADERS,
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
});

/** Events framed for every stream at one cursor, written as one Buffer. */
interface FramedBatch {
  readonly bytes: Buffer;
  /** Each room's seq after the batch. */
  readonly next: ReadonlyMap<RoomName, Seq>;
  /** `formatCursor(next)`: formatted once per batch, not per stream. */
  readonly nextText: string;
}

/**
 * The open streams of a chatserver: one timer sends the heartbeats and ends
 * the streams whose lifetime is over, and a wake-up's frames are built once
 * per cursor and shared by every stream at that cursor.
 */
export class StreamHub {
  readonly heartbeatMs: number;
  readonly lifetimeMs: number;
  private readonly sweepMs: number;
  private readonly streams = new Set<OpenStream>();
  // Valid until any room's head moves (`forgetFrames`): the events after a
  // cursor up to the heads are then fixed.
  private readonly batches = new Map<string, FramedBatch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: StreamHubOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.lifetimeMs = options.lifetimeMs ?? 600_000;
    this.sweepMs = options.sweepMs ?? 1000;
  }

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Starts the heartbeat and lifetime timer. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(Date.now()), Math.min(this.sweepMs, this.heartbeatMs / 2));
    this.timer.unref();
  }

  /** Stops the timer (the streams themselves end through the observer registry). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.batches.clear();
  }

  /** A room's head moved: frames built for the old heads are stale. */
  forgetFrames(): void {
    if (this.batches.size > 0) this.batches.clear();
  }

  /** @internal */
  add(stream: OpenStream): void {
    this.streams.add(stream);
  }

  /** @internal */
  delete(stream: OpenStream): void {
    this.streams.delete(stream);
  }

  /** @internal the frames of the events after `cursor` up to the heads, shared per cursor text. */
  batchFor(cursorText: string, cursor: ResolvedCursor, ctx: ObserveContext): FramedBatch | undefined {
    const known = this.batches.get(cursorText);
    if (known !== undefined) return known;
    const perRoom = eventsAfterCursorNow(cursor, ctx.rooms);
    if (perRoom === undefined) return undefined;
    ctx.metrics?.bodyBuilt(perRoom);
    const batch = frameEvents(cursor, perRoom);
    this.batches.set(cursorText, batch);
    return batch;
  }

  private sweep(now: number): void {
    for (const stream of this.streams) stream.tick(now, this.heartbeatMs);
  }
}

/**
 * Frames the events of `perRoom` (per room of `cursor`, in its order) as
 * EventSource messages: `id:` the whole cursor after the event, `data:` the
 * event JSON serialised when it entered the room's buffer. Event JSON never
 * holds a raw line break (JSON escapes them), so one `data:` line carries it.
 */
export function frameEvents(cursor: ResolvedCursor, perRoom: readonly string[][]): FramedBatch {
  const next = new Map(cursor);
  let text = '';
  let index = 0;
  let nextText = formatCursor(next);
  for (const [room, seq] of cursor) {
    const events = perRoom[index++] as string[];
    for (let offset = 0; offset < events.length; offset++) {
      next.set(room, seq + offset + 1);
      nextText = formatCursor(next);
      text += `id: ${nextText}\ndata: ${events[offset] as string}\n\n`;
    }
  }
  return { bytes: Buffer.from(text, 'utf8'), next, nextText };
}

/** The first bytes of a stream: the reconnect delay, and a `ready` event whose `id` pins the resolved cursor. */
function readyFrame(cursorText: string): string {
  return `retry: ${RETRY_MS}\nevent: ready\nid: ${cursorText}\ndata: ${JSON.stringify({ cursor: cursorText })}\n\n`;
}

/** What the stream handler works with: the observe context plus the open streams. */
export interface StreamContext extends ObserveContext {
  streams: StreamHub;
}

/**
 * `GET /api/observe/stream?rooms=CURSOR` (`Last-Event-ID`, when sent, is the
 * cursor and wins over `rooms`): answers `text/event-stream` and keeps the
 * connection, writing each event after the cursor once, in order, as it
 * arrives, with the same resolution, limits and presence as the long-poll.
 * Errors before the stream begins are the long-poll's JSON errors (an
 * `EventSource` then stops, and the client falls back or retries).
 */
export async function handleStream(
  query: URLSearchParams,
  lastEventId: string | undefined,
  res: LeanResponse,
  ctx: StreamContext,
  sessionHash?: string,
): Promise<void> {
  try {
    refuseSessionInUrl(query);
    const cursorText = lastEventId !== undefined && lastEventId !== '' ? lastEventId : (query.get('rooms') ?? undefined);
    // Private rooms this observer may not read look missing: at 0 in the ready cursor, never an event.
    const { resolved, hidden } = await resolveObserveCursor(parseObserveCursor(cursorText, ctx, sessionHash), ctx, {
      sessionHash,
      ticket: query.get('ticket') ?? undefined,
    });
    if (sessionHash !== undefined) ctx.presence?.touch(resolved.keys(), sessionHash);
    if (res.destroyed) return;
    const resolvedText = withHiddenCursor(formatCursor(resolved), hidden);
    if (ctx.isClosing()) {
      // Begin and end at once: the browser reconnects (to another chatserver) with this cursor.
      if (res.beginStream(STREAM_HEADERS, readyFrame(resolvedText))) res.endStream();
      return;
    }
    admitObserver(ctx, sessionHash);
    if (!res.beginStream(STREAM_HEADERS, readyFrame(resolvedText))) {
      if (sessionHash !== undefined) ctx.sessionObserves?.remove(sessionHash);
      return;
    }
    const stream = new OpenStream(resolved, res, ctx, sessionHash);
    stream.open();
  } catch (error) {
    const chatError = toChatError(error);
    if (chatError.status >= 500) ctx.log.warn({ code: chatError.code, error: (error as Error).message }, 'stream failed');
    sendError(res, chatError);
  }
}

/** One open stream: parked in the observer registry for as long as it lives. */
class OpenStream implements ParkedObserver {
  readonly cursor: ResolvedCursor;
  private text: string;
  private ended = false;
  /** A web-tier read is in flight: wake-ups meanwhile are served after it, in order. */
  private busy = false;
  private wokenWhileBusy = false;
  private lastWriteAt = Date.now();
  private readonly endsAt: number;
  private stopRefresh: (() => void) | undefined;
  private readonly onClose = (): void => this.finish('closed');

  constructor(
    cursor: ResolvedCursor,
    private readonly res: LeanResponse,
    private readonly ctx: StreamContext,
    readonly sessionHash: string | undefined,
  ) {
    this.cursor = cursor;
    this.text = formatCursor(cursor);
    const lifetime = ctx.streams.lifetimeMs;
    this.endsAt = this.lastWriteAt + lifetime - Math.random() * lifetime * LIFETIME_JITTER_SHARE;
  }

  get cursorText(): string {
    return this.text;
  }

  open(): void {
    if (this.sessionHash !== undefined) this.stopRefresh = this.ctx.presence?.park(this.cursor.keys(), this.sessionHash);
    this.res.once('close', this.onClose);
    this.ctx.observers.park(this);
    this.ctx.streams.add(this);
    // Events after the cursor already here (a resume): sent at once.
    if (hasEventsAfter(this.cursor, this.ctx.rooms)) this.deliver();
  }

  /** A wake-up writes what is new and keeps the stream; anything else ends it. */
  finish(reason: FinishReason): void {
    if (this.ended) return;
    if (reason === 'wake') {
      this.deliver();
      return;
    }
    this.ended = true;
    this.res.off('close', this.onClose);
    this.ctx.observers.unpark(this);
    this.ctx.streams.delete(this);
    if (this.sessionHash !== undefined) {
      this.ctx.sessionObserves?.remove(this.sessionHash);
      this.stopRefresh?.();
      this.ctx.presence?.touch(this.cursor.keys(), this.sessionHash);
    }
    if (reason !== 'closed') this.res.endStream();
  }

  /** @internal the hub's timer: heartbeat when quiet, end when the lifetime is over. */
  tick(now: number, heartbeatMs: number): void {
    if (now >= this.endsAt) this.finish('timeout');
    else if (now - this.lastWriteAt >= heartbeatMs) this.write(HEARTBEAT, now);
  }

  private write(bytes: Buffer, now: number = Date.now()): void {
    this.lastWriteAt = now;
    this.res.writeStream(bytes);
    if (this.res.destroyed) this.finish('closed');
  }

  private advance(batch: FramedBatch): void {
    for (const [room, seq] of batch.next) this.cursor.set(room, seq);
    this.text = batch.nextText;
  }

  /** Writes every event after the cursor up to the heads, in order. */
  private deliver(): void {
    if (this.busy) {
      this.wokenWhileBusy = true;
      return;
    }
    // More than a batch (500 events per room) behind: several turns of this loop.
    while (!this.ended && hasEventsAfter(this.cursor, this.ctx.rooms)) {
      const batch = this.ctx.streams.batchFor(this.text, this.cursor, this.ctx);
      if (batch === undefined) {
        this.deliverFromWeb();
        return;
      }
      this.ctx.metrics?.answerWritten();
      this.write(batch.bytes);
      this.advance(batch);
    }
  }

  // The cursor is older than a buffer (a resume from long ago): the web tier has the events.
  private deliverFromWeb(): void {
    this.busy = true;
    eventsAfterCursor(this.cursor, this.ctx.rooms, this.ctx.web).then(
      (perRoom) => {
        this.busy = false;
        if (this.ended) return;
        const batch = frameEvents(this.cursor, perRoom);
        if (batch.bytes.length === 0) {
          // The web tier is behind this chatserver's buffers: come back later rather than ask in a loop.
          this.finish('timeout');
          return;
        }
        this.ctx.metrics?.answerWritten();
        this.write(batch.bytes);
        this.advance(batch);
        this.wokenWhileBusy = false;
        this.deliver();
      },
      (error: unknown) => {
        this.busy = false;
        // Ended, not stalled: the browser comes back with its cursor and tries again.
        this.ctx.log.warn({ error: (error as Error).message, code: toChatError(error).code }, 'stream catch-up failed');
        this.finish('timeout');
      },
    );
  }
}
