import { ChannelLedger, type DeliveredMessage, type Observers } from './long-poll-client.js';
import { startSocketFleet, type SocketFleet, type SocketFleetOptions } from './socket-fleet.js';

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
  /** @see SocketFleetOptions.sources */
  sources?: number;
  /** Highest message number expected (as `ObserversOptions.maxMessages`). */
  maxMessages: number;
  /** Called for every message an observer receives for the first time. */
  onDelivery(message: DeliveredMessage, receivedAt: number): void;
}

/** Options of `startStreams`. */
export interface StreamsOptions extends Omit<SocketFleetOptions, 'connected'> {
  /** The request that opens stream `index` (again after it ended, with `Last-Event-ID` added). */
  request(index: number): string;
  /** The `data:` payload of one message of stream `index`, as latin1 text (one char per byte). */
  onData(index: number, data: string, receivedAt: number): void;
}

/** N EventSource observers of one channel, counting each message once per observer. */
export function startStreamObservers(options: StreamObserversOptions): Observers {
  const ledger = new ChannelLedger(options.count, options.maxMessages, options.onDelivery);
  const streams = startStreams({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    count: options.count,
    ...(options.sources === undefined ? {} : { sources: options.sources }),
    request: () => options.dialect.request,
    onData(index, data, receivedAt) {
      const message = options.dialect.message(data);
      if (message !== undefined) ledger.receive(index, message, receivedAt);
    },
  });
  return {
    get started() {
      return streams.started;
    },
    get errors() {
      return streams.errors;
    },
    get duplicates() {
      return ledger.duplicates;
    },
    fewestReceived: () => ledger.fewestReceived(),
    close: () => streams.close(),
  };
}

/** The request `request` with a `Last-Event-ID` header added (before the blank line that ends it). */
function withLastEventId(request: string, lastEventId: string): string {
  return `${request.slice(0, -2)}last-event-id: ${lastEventId}\r\n\r\n`;
}

/**
 * N EventSource streams, each one socket of a `SocketFleet`. Each reads one
 * `text/event-stream` answer, plain or chunked, and takes the `data:` line of
 * every message; comments and other fields are skipped. A stream that ends or
 * breaks is reopened as a browser's `EventSource` does: with `Last-Event-ID`,
 * the last `id:` it read, so the server resumes after it (what a bench
 * counts as lost or duplicated is then the server's doing, not the client's).
 */
export function startStreams(options: StreamsOptions): SocketFleet {
  const { request, onData, ...fleet } = options;
  const lastEventIds: Array<string | undefined> = new Array<string | undefined>(options.count);
  return startSocketFleet({
    ...fleet,
    connected({ index, socket, established, failed }) {
      let head = true;
      let chunked = false;
      /** Undecoded bytes (the head, or a partial chunk-size line / chunk). */
      let raw = '';
      /** Bytes left of the current chunk (chunked answers); negative: CRLF bytes to skip after a chunk. */
      let chunkLeft = 0;
      /** Event-stream text not yet split into messages. */
      let text = '';
      const lastEventId = lastEventIds[index];
      socket.write(lastEventId === undefined ? request(index) : withLastEventId(request(index), lastEventId));

      /** The value of field `name` (`id: ` or `data: `) in the message text[start, end), or undefined. */
      const field = (name: string, start: number, end: number): string | undefined => {
        let at = text.startsWith(name, start) ? start : text.indexOf(`\n${name}`, start);
        if (at < 0 || at >= end) return undefined;
        if (text.charCodeAt(at) === 10) at++;
        const lineEnd = text.indexOf('\n', at);
        return text.slice(at + name.length, lineEnd < 0 || lineEnd > end ? end : lineEnd);
      };
      const messages = (): void => {
        const receivedAt = performance.timeOrigin + performance.now();
        let start = 0;
        for (let end = text.indexOf('\n\n', start); end >= 0; end = text.indexOf('\n\n', start)) {
          const id = field('id: ', start, end);
          if (id !== undefined) lastEventIds[index] = id;
          const data = field('data: ', start, end);
          if (data !== undefined) onData(index, data, receivedAt);
          start = end + 2;
        }
        text = start === 0 ? text : text.slice(start);
      };

      return (chunk) => {
        raw = raw === '' ? chunk : raw + chunk;
        if (head) {
          const headEnd = raw.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const status = Number.parseInt(raw.slice(9, 12), 10);
          if (status !== 200) {
            // A refusal (503 while the chatservers are busy, 429): come back no sooner than asked.
            const retryAfter = /^retry-after: *(\d+)/im.exec(raw.slice(0, headEnd));
            failed(retryAfter === null ? 0 : Number(retryAfter[1]) * 1000);
            socket.destroy();
            return;
          }
          established();
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
              // The last chunk: the answer is over, after the messages read with it.
              messages();
              socket.destroy();
              return;
            }
          }
          raw = raw.slice(offset);
        }
        messages();
      };
    },
  });
}
