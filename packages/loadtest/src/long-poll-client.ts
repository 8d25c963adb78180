import { startSocketFleet, type SocketFleet, type SocketFleetOptions } from './socket-fleet.js';

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
export interface LongPollsOptions extends Omit<SocketFleetOptions, 'connected'> {
  /** The complete request (`GET … HTTP/1.1\r\n…\r\n\r\n`) loop `index` sends next. */
  request(index: number): string;
  /**
   * One complete answer of loop `index` (any status). Returns how many ms to
   * wait before the next request: 0 asks again at once.
   */
  answer(index: number, answer: RawAnswer): number;
}

/**
 * N long-poll loops, each one keep-alive HTTP/1.1 socket of a `SocketFleet`
 * that sends its next request as soon as an answer is complete. Answers must
 * carry `Content-Length` (every server measured does).
 */
export function startLongPolls(options: LongPollsOptions): SocketFleet {
  const { request, answer, ...fleet } = options;
  return startSocketFleet({
    ...fleet,
    connected({ index, socket, later, established, failed }) {
      let buffer = '';
      const ask = (): void => {
        if (!socket.destroyed) socket.write(request(index));
      };
      ask();
      // A long-poll is parked once its request is out.
      established();
      return (chunk) => {
        buffer = buffer === '' ? chunk : buffer + chunk;
        for (;;) {
          const headEnd = buffer.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const lineEnd = buffer.indexOf('\r\n');
          const head = buffer.slice(lineEnd + 2, headEnd + 2);
          const status = Number.parseInt(buffer.slice(9, 12), 10);
          const length = contentLength(head, status);
          if (length === undefined) {
            failed();
            socket.destroy();
            return;
          }
          if (buffer.length < headEnd + 4 + length) return;
          const body = buffer.slice(headEnd + 4, headEnd + 4 + length);
          buffer = buffer.slice(headEnd + 4 + length);
          const delayMs = answer(index, { status, head, body });
          if (delayMs > 0) later(delayMs, ask);
          else ask();
        }
      };
    },
  });
}

/** Options of `startObservers`. */
export interface ObserversOptions<C> {
  port: number;
  /** Host of the server. @default '127.0.0.1' */
  host?: string;
  count: number;
  dialect: LongPollDialect<C>;
  initialCursor: C;
  /** @see SocketFleetOptions.sources */
  sources?: number;
  /** @see ChannelLedger */
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
  /** Messages an observer received again (a server or client that replays): not deliveries. */
  readonly duplicates: number;
  /** The fewest distinct messages any observer has received. */
  fewestReceived(): number;
  /** Closes every socket; nothing reconnects afterwards. */
  close(): void;
}

/** What each observer of one channel has received: every message counted once, a repeat apart. */
export class ChannelLedger {
  private readonly receivedCount: Uint32Array;
  private readonly received: Uint8Array[];
  duplicates = 0;

  /**
   * @param maxMessages Highest message number expected: each observer keeps
   *   one byte per message, so messages that arrive out of order (a server
   *   whose publishes raced) still count once each.
   * @param onDelivery Called for every message an observer receives for the first time.
   */
  constructor(
    private readonly count: number,
    private readonly maxMessages: number,
    private readonly onDelivery: (message: DeliveredMessage, receivedAt: number) => void,
  ) {
    this.receivedCount = new Uint32Array(count);
    this.received = Array.from({ length: count }, () => new Uint8Array(maxMessages + 1));
  }

  /** Observer `index` received `message`; outside 1…maxMessages it is ignored (not a bench message). */
  receive(index: number, message: DeliveredMessage, receivedAt: number): void {
    if (message.n < 1 || message.n > this.maxMessages) return;
    const seen = this.received[index] as Uint8Array;
    if (seen[message.n] === 1) {
      this.duplicates++;
      return;
    }
    seen[message.n] = 1;
    this.receivedCount[index] = (this.receivedCount[index] as number) + 1;
    this.onDelivery(message, receivedAt);
  }

  /** The fewest distinct messages any observer has received. */
  fewestReceived(): number {
    let fewest = Number.POSITIVE_INFINITY;
    for (const value of this.receivedCount) if (value < fewest) fewest = value;
    return this.count === 0 ? 0 : fewest;
  }
}

/** N observers of one benchmark channel, speaking `dialect`, counting each message once. */
export function startObservers<C>(options: ObserversOptions<C>): Observers {
  const ledger = new ChannelLedger(options.count, options.maxMessages, options.onDelivery);
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
      for (const message of messages) ledger.receive(index, message, receivedAt);
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
    get duplicates() {
      return ledger.duplicates;
    },
    fewestReceived: () => ledger.fewestReceived(),
    close: () => loops.close(),
  };
}
