import type { ChatEvent, ObserveAnswer } from '@parley/protocol';
import { ParleyError } from './errors.js';
import type { ObserveTransport, TransportOptions } from './transports.js';

/** The part of the browser's `EventSource` this transport uses (tests pass a stand-in). */
export interface EventSourceLike {
  readonly readyState: number;
  onmessage: ((event: MessageEvent<string>) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: 'ready', listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

/** Options of `streamTransport`. */
export interface StreamTransportOptions extends TransportOptions {
  /**
   * Used where `EventSource` is missing, whenever the stream cannot answer
   * (an error answer, which `EventSource` cannot read), and for good once a
   * stream never got its first event: `fetchTransport()` on Parley's own
   * pages, `jsonpTransport()` on third-party ones.
   */
  fallback: ObserveTransport;
  /**
   * A stream whose first event (the server sends it at once) has not arrived
   * after this long is being buffered or broken by something on the way:
   * the fallback takes over. @default 4000
   */
  firstEventMs?: number;
  /** The `EventSource` constructor. @default globalThis.EventSource */
  EventSource?: new (url: string) => EventSourceLike;
}

// EventSource.CLOSED: the browser gave up (an error answer), it will not reconnect.
const CLOSED = 2;
// A stream that failed this often without ever getting its first event is not tried again.
const MAX_FAILED_OPENS = 2;

/** A call of the transport waiting for what the stream brings. */
interface Waiter {
  /** Its hold is over (or was 0): answer as soon as the stream is ready, events or not. */
  due: boolean;
  resolve(answer: ObserveAnswer): void;
  reject(error: ParleyError): void;
}

/**
 * The observe as one `GET /api/observe/stream` (EventSource) instead of a
 * request per answer, behind the same `ObserveTransport` seam as the
 * long-poll: each call hands on what arrived after the cursor it was given,
 * waiting up to its hold for something to arrive. The stream stays open from
 * call to call while the caller's cursor is where the stream left it (the
 * browser reconnects it by itself with `Last-Event-ID` when the server ends
 * it); a new cursor (a room watched or dropped) opens a new one.
 *
 * Falls back to `options.fallback` by itself: without `EventSource`, when the
 * first event does not arrive within `firstEventMs` (a buffering proxy), and
 * for one call whenever the browser gave the stream up (so the long-poll's
 * answer says why: a bad cursor, a limit with its `Retry-After`).
 */
export function streamTransport(options: StreamTransportOptions): ObserveTransport {
  const Source = options.EventSource ?? (globalThis as { EventSource?: new (url: string) => EventSourceLike }).EventSource;
  const firstEventMs = options.firstEventMs ?? 4000;
  let source: EventSourceLike | undefined;
  /** The cursor the stream started from, advanced by every event handed on. */
  let handedCursor: string | undefined;
  /** The stream's cursor: the id of the last event or ready message received. */
  let streamCursor: string | undefined;
  let queued: ChatEvent[] = [];
  let ready = false;
  let everReady = false;
  let failedOpens = 0;
  let fallenBack = Source === undefined;
  let waiter: Waiter | undefined;
  let firstEventTimer: ReturnType<typeof setTimeout> | undefined;

  const close = (): void => {
    clearTimeout(firstEventTimer);
    source?.close();
    source = undefined;
    handedCursor = undefined;
    streamCursor = undefined;
    queued = [];
    ready = false;
  };

  /** Hands what is queued to the waiting call, once there is something to hand on or its hold is over. */
  const flush = (): void => {
    if (waiter === undefined || !ready || streamCursor === undefined) return;
    if (queued.length === 0 && !waiter.due) return;
    const answer: ObserveAnswer = { events: queued, cursor: streamCursor };
    queued = [];
    handedCursor = streamCursor;
    const current = waiter;
    waiter = undefined;
    current.resolve(answer);
  };

  const fail = (error: ParleyError): void => {
    const current = waiter;
    waiter = undefined;
    current?.reject(error);
  };

  const open = (rooms: string): void => {
    close();
    const query = new URLSearchParams({ rooms });
    if (options.ticket !== undefined) query.set('ticket', options.ticket);
    const stream = new (Source as new (url: string) => EventSourceLike)(`${(options.baseUrl ?? '').replace(/\/+$/, '')}/api/observe/stream?${query}`);
    source = stream;
    handedCursor = rooms;
    firstEventTimer = setTimeout(() => {
      if (source !== stream || ready) return;
      // Buffered or broken on the way: long-poll from now on.
      fallenBack = true;
      close();
      fail(new ParleyError('timeout', 0, 'the stream sent nothing: falling back to long-poll'));
    }, firstEventMs);
    stream.addEventListener('ready', (event) => {
      if (source !== stream) return;
      clearTimeout(firstEventTimer);
      ready = true;
      everReady = true;
      failedOpens = 0;
      // A reconnect (after the server ended the stream) resumes here too.
      if (streamCursor === undefined) streamCursor = event.lastEventId;
      flush();
    });
    stream.onmessage = (event) => {
      if (source !== stream) return;
      queued.push(JSON.parse(event.data) as ChatEvent);
      streamCursor = event.lastEventId;
      flush();
    };
    stream.onerror = () => {
      if (source !== stream || stream.readyState !== CLOSED) return; // reconnecting by itself
      if (!everReady && ++failedOpens >= MAX_FAILED_OPENS) fallenBack = true;
      close();
      fail(new ParleyError('network', 0, 'the stream was refused'));
    };
  };

  return (rooms, waitSeconds, signal) => {
    // Offline, a stream would only wait to reconnect (and look buffered): the
    // fallback fails at once, and the loop shows it and backs off until online.
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    if (fallenBack || offline) return options.fallback(rooms, waitSeconds, signal);
    if (source === undefined || rooms !== handedCursor) open(rooms);
    return new Promise<ObserveAnswer>((resolve, reject) => {
      const hold = setTimeout(() => {
        if (waiter !== mine) return;
        mine.due = true;
        flush();
      }, waitSeconds * 1000);
      // The loop gave up on this call (offline, rooms changed, stopped): the stream goes with it.
      const onAbort = (): void => {
        close();
        fail(new ParleyError('network', 0, 'aborted'));
      };
      const done = (): void => {
        clearTimeout(hold);
        signal.removeEventListener('abort', onAbort);
      };
      const mine: Waiter = {
        due: waitSeconds === 0,
        resolve: (answer) => {
          done();
          resolve(answer);
        },
        reject: (error) => {
          done();
          // The stream could not answer this call: the fallback does (and tells why it failed, if it does).
          if (error.message !== 'aborted' && !signal.aborted) options.fallback(rooms, waitSeconds, signal).then(resolve, reject);
          else reject(error);
        },
      };
      waiter = mine;
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
      // Something already queued, or a hold of 0 once the stream is ready: answer now.
      flush();
    });
  };
}
