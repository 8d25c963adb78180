import { connect, type Socket } from 'node:net';

/** One message an observer received: its publish number and publish time. */
export interface DeliveredMessage {
  /** 1, 2, 3… in publish order. */
  n: number;
  /** Publish time, ms on the `performance.timeOrigin + performance.now()` clock. */
  sentAt: number;
}

/** One complete HTTP answer as the lean client sees it. */
export interface RawAnswer {
  status: number;
  /** The header block (without the status line), as sent. */
  head: string;
  body: string;
}

/**
 * How one long-poll server speaks: what to send for a cursor, and what an
 * answer delivered. `C` is the cursor a dialect keeps per observer.
 */
export interface LongPollDialect<C> {
  /** The complete request (`GET … HTTP/1.1\r\n…\r\n\r\n`) for `cursor`. */
  request(cursor: C): string;
  /** The messages of one answer and the cursor to send next. */
  answer(answer: RawAnswer, cursor: C): { messages: readonly DeliveredMessage[]; next: C };
}

/** The body length of an answer; undefined when it is not framed by Content-Length. */
function contentLength(head: string, status: number): number | undefined {
  const match = /^content-length: *(\d+)/im.exec(head);
  if (match !== null) return Number(match[1]);
  // These never have a body (RFC 9110).
  return status === 304 || status === 204 ? 0 : undefined;
}

/** Options of `startLongPolls`. */
export interface LongPollsOptions {
  port: number;
  /** Host of the server. @default '127.0.0.1' */
  host?: string;
  count: number;
  /** Source addresses the sockets are spread over (127.0.0.2, …). @default defaultSourceCount(count) */
  sources?: number;
  /** The complete request (`GET … HTTP/1.1\r\n…\r\n\r\n`) loop `index` sends next. */
  request(index: number): string;
  /**
   * One complete answer of loop `index` (any status). Returns how many ms to
   * wait before the next request: 0 asks again at once.
   */
  answer(index: number, answer: RawAnswer): number;
}

/** A running set of long-poll loops. */
export interface LongPolls {
  /** Loops that have connected at least once. */
  readonly started: number;
  /** Connection errors and answers the client could not frame. */
  readonly errors: number;
  /** Closes every socket; nothing reconnects afterwards. */
  close(): void;
}

// Sockets per source address. One address has ~28,000 ephemeral ports, but
// a closed socket holds its port in TIME_WAIT for 60 s, and binding a new one
// gets slow as an address fills up: with 18,000 observers on two addresses,
// every cell after the first in one bench process read 10x the latency (p99
// 4-10 s instead of 0.4 s, generator CPU 77 % instead of 37 %); on eight
// addresses the second cell measured as the first.
const SOCKETS_PER_SOURCE = 2500;

/** How many source addresses `count` sockets are spread over by default. */
export function defaultSourceCount(count: number): number {
  return Math.max(1, Math.ceil(count / SOCKETS_PER_SOURCE));
}

// A failed connection is retried after this pause, so a refusing server is not hammered.
const RECONNECT_MS = 100;
// Connections opened at once while ramping up: the accept queue of a server is finite.
const CONNECT_BATCH = 500;

/**
 * N long-poll loops, each one keep-alive HTTP/1.1 socket that sends its next
 * request as soon as an answer is complete. Written on `node:net` directly:
 * an HTTP client library costs more CPU per answer than the servers under
 * test spend (undici measured ~60 µs per observe answer here, saturating the
 * generator's core at 20,000 answers/s), and the generator must not be the
 * bottleneck. Answers must carry `Content-Length` (every server measured does).
 */
export function startLongPolls(options: LongPollsOptions): LongPolls {
  const host = options.host ?? '127.0.0.1';
  const sources = options.sources ?? defaultSourceCount(options.count);
  const sockets: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let started = 0;
  let errors = 0;

  const later = (delayMs: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, delayMs);
    timers.add(timer);
  };

  function run(index: number): void {
    let buffer = '';
    let counted = false;
    const localAddress = sources > 1 ? `127.0.0.${2 + (index % sources)}` : undefined;
    const socket = connect({ port: options.port, host, ...(localAddress === undefined ? {} : { localAddress }) });
    sockets[index] = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    const ask = (): void => {
      if (!closed && !socket.destroyed) socket.write(options.request(index));
    };
    socket.on('connect', () => {
      if (!counted) {
        counted = true;
        started++;
      }
      ask();
    });
    socket.on('data', (chunk: string) => {
      buffer = buffer === '' ? chunk : buffer + chunk;
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const lineEnd = buffer.indexOf('\r\n');
        const head = buffer.slice(lineEnd + 2, headEnd + 2);
        const status = Number.parseInt(buffer.slice(9, 12), 10);
        const length = contentLength(head, status);
        if (length === undefined) {
          errors++;
          socket.destroy();
          return;
        }
        if (buffer.length < headEnd + 4 + length) return;
        const body = buffer.slice(headEnd + 4, headEnd + 4 + length);
        buffer = buffer.slice(headEnd + 4 + length);
        if (closed) return;
        const delayMs = options.answer(index, { status, head, body });
        if (delayMs > 0) later(delayMs, ask);
        else ask();
      }
    });
    socket.on('error', () => {
      if (!closed) errors++;
    });
    socket.on('close', () => {
      if (!closed) later(RECONNECT_MS, () => run(index));
    });
  }

  // Ramp up in batches, one event-loop turn apart.
  let next = 0;
  const ramp = (): void => {
    const end = Math.min(options.count, next + CONNECT_BATCH);
    for (; next < end; next++) run(next);
    if (next < options.count && !closed) later(5, ramp);
  };
  ramp();

  return {
    get started() {
      return started;
    },
    get errors() {
      return errors;
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket?.destroy();
    },
  };
}

/** Options of `startObservers`. */
export interface ObserversOptions<C> {
  port: number;
  /** Host of the server. @default '127.0.0.1' */
  host?: string;
  count: number;
  dialect: LongPollDialect<C>;
  initialCursor: C;
  /** @see LongPollsOptions.sources */
  sources?: number;
  /**
   * Highest message number expected: each observer keeps one byte per
   * message, so messages that arrive out of order (a server whose publishes
   * raced) still count once each.
   */
  maxMessages: number;
  /** Called for every message an observer receives for the first time. */
  onDelivery(message: DeliveredMessage, receivedAt: number): void;
}

/** A running set of observers. */
export interface Observers {
  /** Observers that have sent their first request. */
  readonly started: number;
  /** Non-2xx answers and connection errors. */
  readonly errors: number;
  /** The fewest distinct messages any observer has received. */
  fewestReceived(): number;
  /** Closes every socket; nothing reconnects afterwards. */
  close(): void;
}

/** N observers of one benchmark channel, speaking `dialect`, counting each message once. */
export function startObservers<C>(options: ObserversOptions<C>): Observers {
  const receivedCount = new Uint32Array(options.count);
  const received = Array.from({ length: options.count }, () => new Uint8Array(options.maxMessages + 1));
  const cursors = Array.from({ length: options.count }, () => options.initialCursor);
  let answerErrors = 0;
  const loops = startLongPolls({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    count: options.count,
    ...(options.sources === undefined ? {} : { sources: options.sources }),
    request: (index) => options.dialect.request(cursors[index] as C),
    answer(index, answer) {
      // 304: a long-poll that timed out (Nchan); ask again with the same cursor.
      if (answer.status < 200 || answer.status >= 300) {
        if (answer.status !== 304) answerErrors++;
        return 0;
      }
      const receivedAt = performance.timeOrigin + performance.now();
      const { messages, next } = options.dialect.answer(answer, cursors[index] as C);
      cursors[index] = next;
      const seen = received[index] as Uint8Array;
      for (const message of messages) {
        if (message.n < 1 || message.n > options.maxMessages || seen[message.n] === 1) continue;
        seen[message.n] = 1;
        receivedCount[index] = (receivedCount[index] as number) + 1;
        options.onDelivery(message, receivedAt);
      }
      return 0;
    },
  });

  return {
    get started() {
      return loops.started;
    },
    get errors() {
      return loops.errors + answerErrors;
    },
    fewestReceived() {
      let fewest = Number.POSITIVE_INFINITY;
      for (const value of receivedCount) if (value < fewest) fewest = value;
      return options.count === 0 ? 0 : fewest;
    },
    close: () => loops.close(),
  };
}
