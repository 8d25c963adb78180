import { connect, type Socket } from 'node:net';
import { defaultSourceCount, type DeliveredMessage, type LongPolls, type Observers } from './long-poll-client.js';

/** How one streaming server speaks: the request that opens a stream, and what one message's data delivers. */
export interface StreamDialect {
  /** The complete request (`GET … HTTP/1.1\r\n…\r\n\r\n`) that opens a stream (the same for every observer). */
  request: string;
  /** The message carried by one `data:` payload, or undefined for one that carries none (a ready event). */
  message(data: string): DeliveredMessage | undefined;
}

/** Options of `startStreamObservers`. */
export interface StreamObserversOptions {
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  count: number;
  dialect: StreamDialect;
  /** @see LongPollsOptions.sources */
  sources?: number;
  /** Highest message number expected (as `ObserversOptions.maxMessages`). */
  maxMessages: number;
  /** Called for every message an observer receives for the first time. */
  onDelivery(message: DeliveredMessage, receivedAt: number): void;
}

const RECONNECT_MS = 100;
const CONNECT_BATCH = 500;

/** Options of `startStreams`. */
export interface StreamsOptions {
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  count: number;
  /** @see LongPollsOptions.sources */
  sources?: number;
  /** The request that opens stream `index` (again after it ended). */
  request(index: number): string;
  /** The `data:` payload of one message of stream `index`, as latin1 text (one char per byte). */
  onData(index: number, data: string, receivedAt: number): void;
}

/** N EventSource observers of one channel, counting each message once per observer. */
export function startStreamObservers(options: StreamObserversOptions): Observers {
  const receivedCount = new Uint32Array(options.count);
  const received = Array.from({ length: options.count }, () => new Uint8Array(options.maxMessages + 1));
  const streams = startStreams({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    count: options.count,
    ...(options.sources === undefined ? {} : { sources: options.sources }),
    request: () => options.dialect.request,
    onData(index, data, receivedAt) {
      const message = options.dialect.message(data);
      if (message === undefined || message.n < 1 || message.n > options.maxMessages) return;
      const seen = received[index] as Uint8Array;
      if (seen[message.n] === 1) return;
      seen[message.n] = 1;
      receivedCount[index] = (receivedCount[index] as number) + 1;
      options.onDelivery(message, receivedAt);
    },
  });
  return {
    get started() {
      return streams.started;
    },
    get errors() {
      return streams.errors;
    },
    fewestReceived() {
      let fewest = Number.POSITIVE_INFINITY;
      for (const value of receivedCount) if (value < fewest) fewest = value;
      return options.count === 0 ? 0 : fewest;
    },
    close: () => streams.close(),
  };
}

/**
 * N EventSource streams on `node:net` directly (for the same
 * reason as `startLongPolls`: a client library would cost more than the
 * server under test). Each reads one `text/event-stream` answer, plain or
 * chunked, and takes the `data:` line of every message; comments and other
 * fields are skipped. A stream that ends is reopened (the first request
 * again: a bench cell counts each message once per observer anyway).
 */
export function startStreams(options: StreamsOptions): LongPolls {
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
    let head = true;
    let chunked = false;
    /** Undecoded bytes (the head, or a partial chunk-size line / chunk). */
    let raw = '';
    /** Bytes left of the current chunk (chunked answers). */
    let chunkLeft = 0;
    /** Event-stream text not yet split into messages. */
    let text = '';
    let counted = false;
    const localAddress = sources > 1 ? `127.0.0.${2 + (index % sources)}` : undefined;
    const socket = connect({ port: options.port, host, ...(localAddress === undefined ? {} : { localAddress }) });
    sockets[index] = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (!counted) {
        counted = true;
        started++;
      }
      socket.write(options.request(index));
    });

    const messages = (): void => {
      const receivedAt = performance.timeOrigin + performance.now();
      let start = 0;
      for (let end = text.indexOf('\n\n', start); end >= 0; end = text.indexOf('\n\n', start)) {
        // The data line of the message text[start, end).
        let data = text.startsWith('data: ', start) ? start : text.indexOf('\ndata: ', start);
        if (data >= 0 && data < end) {
          if (text.charCodeAt(data) === 10) data++;
          const lineEnd = text.indexOf('\n', data);
          options.onData(index, text.slice(data + 6, lineEnd < 0 || lineEnd > end ? end : lineEnd), receivedAt);
        }
        start = end + 2;
      }
      text = start === 0 ? text : text.slice(start);
    };

    socket.on('data', (chunk: string) => {
      if (closed) return;
      raw = raw === '' ? chunk : raw + chunk;
      if (head) {
        const headEnd = raw.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const status = Number.parseInt(raw.slice(9, 12), 10);
        if (status !== 200) {
          errors++;
          socket.destroy();
          return;
        }
        chunked = /^transfer-encoding: *chunked/im.test(raw.slice(0, headEnd));
        head = false;
        raw = raw.slice(headEnd + 4);
      }
      if (!chunked) {
        text += raw;
        raw = '';
      } else {
        // De-chunk what is complete; keep a partial size line for the next read.
        let offset = 0;
        while (offset < raw.length) {
          if (chunkLeft > 0) {
            const take = Math.min(chunkLeft, raw.length - offset);
            text += raw.slice(offset, offset + take);
            offset += take;
            chunkLeft -= take;
            if (chunkLeft === 0) chunkLeft = -2; // the CRLF after the chunk
            continue;
          }
          if (chunkLeft < 0) {
            const skip = Math.min(-chunkLeft, raw.length - offset);
            offset += skip;
            chunkLeft += skip;
            continue;
          }
          const lineEnd = raw.indexOf('\r\n', offset);
          if (lineEnd < 0) break;
          chunkLeft = Number.parseInt(raw.slice(offset, lineEnd), 16);
          offset = lineEnd + 2;
          if (chunkLeft === 0) {
            socket.destroy();
            return;
          }
        }
        raw = raw.slice(offset);
      }
      messages();
    });
    socket.on('error', () => {
      if (!closed) errors++;
    });
    socket.on('close', () => {
      if (!closed) later(RECONNECT_MS, () => run(index));
    });
  }

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
