import { EventStreamParser, type ChatEvent, type EventStreamMessage } from '@parley/protocol';

/** An open `text/event-stream` answer, read as a browser's EventSource would. */
export interface EventStreamReader {
  readonly status: number;
  readonly headers: Headers;
  /** Every message so far, in arrival order. */
  readonly messages: EventStreamMessage[];
  /** Heartbeat comments so far. */
  readonly comments: number;
  /** True once the server ended the stream (or the connection broke). */
  readonly ended: boolean;
  /** Resolves when `predicate` holds (checked on every chunk), or rejects after `timeoutMs`. */
  until(predicate: (reader: EventStreamReader) => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Aborts the request. */
  close(): void;
}

/** GETs `url` and reads its event stream as it comes; an error answer's body is in `errorText`. */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<EventStreamReader & { errorText?: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  clearTimeout(timer);
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const errorText = await response.text();
    return { status: response.status, headers: response.headers, messages: [], comments: 0, ended: true, errorText, until: () => Promise.reject(new Error(`not a stream: ${response.status} ${errorText}`)), close: () => undefined };
  }
  const parser = new EventStreamParser();
  const messages: EventStreamMessage[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  let lastChunkAt = Date.now();
  const reader: EventStreamReader = {
    status: response.status,
    headers: response.headers,
    messages,
    get comments() {
      return parser.comments;
    },
    get ended() {
      return ended;
    },
    until(predicate, waitMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(reader)) {
            clearTimeout(bound);
            waiters.delete(check);
            resolve();
          } else if (ended) {
            clearTimeout(bound);
            waiters.delete(check);
            reject(new Error(`stream ended before ${what}; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
          }
        };
        const bound = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${waitMs} ms waiting for ${what}; got ${messages.length} messages and ${parser.comments} heartbeats, the last chunk ${Date.now() - lastChunkAt} ms ago: ${JSON.stringify(messages.slice(-5))}`));
        }, waitMs);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        lastChunkAt = Date.now();
        messages.push(...parser.push(decoder.decode(chunk, { stream: true })));
        for (const check of [...waiters]) check();
      }
    } catch {
      // Aborted or cut: ended either way.
    }
    ended = true;
    for (const check of [...waiters]) check();
  })();
  return reader;
}

/** A stream client that reconnects like a browser's EventSource: after every end, with `Last-Event-ID`. */
export interface StreamFollower {
  /** Every Parley event received, in arrival order (repeats included: a test must see them). */
  readonly events: ChatEvent[];
  /** Streams opened (1 + reconnects). */
  readonly opened: number;
  /** Resolves when `predicate` holds, or rejects after `timeoutMs`. */
  until(predicate: (events: ChatEvent[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): void;
}

/** Follows `url` (`…/api/observe/stream?rooms=…`), reconnecting `retryMs` after each end with the last id. */
export function followStream(url: string, retryMs = 200): StreamFollower {
  const events: ChatEvent[] = [];
  let lastEventId: string | undefined;
  let opened = 0;
  let closed = false;
  let current: EventStreamReader | undefined;
  const changed = new Set<() => void>();
  const notify = (): void => {
    for (const check of [...changed]) check();
  };
  void (async () => {
    while (!closed) {
      try {
        const reader = await openEventStream(url, lastEventId === undefined ? {} : { 'last-event-id': lastEventId });
        current = reader;
        opened++;
        let seen = 0;
        await reader.until(
          (r) => {
            for (; seen < r.messages.length; seen++) {
              const message = r.messages[seen] as EventStreamMessage;
              lastEventId = message.id;
              if (message.event === 'message') events.push(JSON.parse(message.data) as ChatEvent);
            }
            notify();
            return closed;
          },
          600_000,
          'the end',
        ).catch(() => undefined);
      } catch {
        // Refused or unreachable (a chatserver just died): try again, as a browser would.
      }
      if (!closed) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();
  return {
    events,
    get opened() {
      return opened;
    },
    until(predicate, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(events)) return;
          clearTimeout(bound);
          changed.delete(check);
          resolve();
        };
        const bound = setTimeout(() => {
          changed.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got seqs ${events.map((event) => event.seq).join(',')}`));
        }, timeoutMs);
        changed.add(check);
        check();
      });
    },
    close() {
      closed = true;
      current?.close();
    },
  };
}
