import { EventStreamParser, type EventStreamMessage } from '@parley/protocol';

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
          reject(new Error(`timed out after ${waitMs} ms waiting for ${what}; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
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
