import { createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';

/**
 * A GET-only HTTP/1.1 server for the observe port, on `node:net` directly.
 *
 * Why not `node:http`: under fan-out a chatserver answers one request per
 * observer per event, and `node:http` spends most of that CPU building an
 * `IncomingMessage` stream and a `ServerResponse` for each (profiled: parser
 * callbacks, stream state and their garbage were ~45 % of the chatserver's
 * busy time, more than building and writing the answers). Long-poll requests
 * are tiny and bodiless, so a request here is one string search and a few
 * slices, and an answer is one socket write — of a Buffer shared by every
 * observer woken at the same cursor (`endPrebuilt`).
 *
 * Supported: HTTP/1.0 and 1.1, keep-alive (1.1 by default, 1.0 when asked),
 * pipelined requests (answered in order), `Connection: close`. Request bodies
 * with `Content-Length` are read and discarded; chunked request bodies get 400
 * and the connection is closed. Requests whose head exceeds 16 KiB get 431.
 */

/** A parsed request: method, target and headers (names lower-cased; repeated headers keep the last). */
export interface LeanRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** What a handler answers with: the subset of `ServerResponse` the chatserver uses, plus `endPrebuilt`. */
export interface AnswerSink {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Readonly<Record<string, string>>): unknown;
  end(body?: string): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** Options of `createLeanServer`. */
export interface LeanServerOptions {
  /** Idle keep-alive connections are closed after this long. @default 65000 */
  keepAliveTimeoutMs?: number;
}

/** A running lean server: the `net.Server` plus the connection controls `stopServer` needs. */
export interface LeanServer {
  readonly server: Server;
  /** Closes connections with no request in progress. */
  closeIdleConnections(): void;
  /** Destroys every connection. */
  closeAllConnections(): void;
}

// A long-poll request is a few hundred bytes; 16 KiB is the head limit of node:http too.
const MAX_HEAD_BYTES = 16 * 1024;
// Pipelined requests waiting behind a parked one: a real client sends one at a time.
const MAX_BUFFERED_BYTES = 64 * 1024;
// A connection that started a request head must finish it within this (slowloris).
const HEAD_TIMEOUT_MS = 60_000;
// Idle and head timeouts are checked this often, by one timer for all
// connections: re-arming a socket timeout on every request and answer cost
// more than the rest of the connection's bookkeeping.
const TIMEOUT_SWEEP_MS = 1000;

let dateText = new Date().toUTCString();
let dateTimer: NodeJS.Timeout | undefined;
let dateUsers = 0;

/** The `Date` header value, refreshed once a second while a lean server runs. */
export function httpDate(): string {
  return dateText;
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
}

/**
 * The raw bytes of a 200 answer with `headers` and `body`, to be written as
 * is to any number of keep-alive connections with `endPrebuilt`. Build it for
 * one wake-up and drop it: its `Date` is the time it was built.
 */
export function prebuiltAnswer(headers: Readonly<Record<string, string>>, body: string): Buffer {
  let head = `${statusLine(200)}date: ${httpDate()}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name] as string}\r\n`;
  const bodyBytes = Buffer.byteLength(body);
  head += `content-length: ${bodyBytes}\r\n\r\n`;
  const headBytes = Buffer.byteLength(head, 'latin1');
  const raw = Buffer.allocUnsafe(headBytes + bodyBytes);
  raw.write(head, 0, 'latin1');
  raw.write(body, headBytes, 'utf8');
  return raw;
}

/** One request's answer on a connection. */
export class LeanResponse implements AnswerSink {
  private sent = false;
  private status = 200;
  private headerText = '';
  private closeListener: (() => void) | undefined;
  private closeOnEnd: boolean;

  /** @internal */
  constructor(
    private readonly connection: Connection,
    keepAlive: boolean,
  ) {
    this.closeOnEnd = !keepAlive;
  }

  get headersSent(): boolean {
    return this.sent;
  }

  get destroyed(): boolean {
    return this.connection.socket.destroyed;
  }

  writeHead(status: number, headers: Readonly<Record<string, string>>): this {
    this.status = status;
    let text = '';
    for (const name in headers) {
      const value = headers[name] as string;
      if (name === 'connection' && value.toLowerCase() === 'close') this.closeOnEnd = true;
      else if (name !== 'content-length') text += `${name}: ${value}\r\n`;
    }
    this.headerText = text;
    return this;
  }

  end(body = ''): void {
    if (this.sent) return;
    this.sent = true;
    const bodyBytes = Buffer.byteLength(body);
    const connectionHeader = this.closeOnEnd ? 'connection: close\r\n' : '';
    this.connection.finish(
      `${statusLine(this.status)}date: ${httpDate()}\r\n${this.headerText}${connectionHeader}content-length: ${bodyBytes}\r\n\r\n${body}`,
      this.closeOnEnd,
    );
  }

  /**
   * Writes a complete answer built by `prebuiltAnswer` (one Buffer shared by
   * many connections). Returns false, writing nothing, when this connection
   * is to close after the answer and so needs its own `Connection` header.
   */
  endPrebuilt(raw: Buffer): boolean {
    if (this.sent || this.closeOnEnd) return false;
    this.sent = true;
    this.connection.finish(raw, false);
    return true;
  }

  once(_event: 'close', listener: () => void): this {
    this.closeListener = listener;
    return this;
  }

  off(_event: 'close', listener: () => void): this {
    if (this.closeListener === listener) this.closeListener = undefined;
    return this;
  }

  /** @internal the connection closed before or after the answer. */
  emitClose(): void {
    const listener = this.closeListener;
    this.closeListener = undefined;
    listener?.();
  }
}

/** @internal one client connection and its request loop. */
class Connection {
  private buffer = '';
  private skipBody = 0;
  private current: LeanResponse | undefined;
  private closing = false;
  /** When the connection last became idle (answered) or started a request head. */
  private since = Date.now();

  constructor(
    readonly socket: Socket,
    private readonly handler: (request: LeanRequest, response: LeanResponse) => void,
  ) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      const response = this.current;
      this.current = undefined;
      response?.emitClose();
    });
  }

  get idle(): boolean {
    return this.current === undefined && this.buffer === '';
  }

  /** Destroys the connection when idle past the keep-alive timeout or stuck in a request head. */
  checkTimeouts(now: number, keepAliveTimeoutMs: number): void {
    if (this.current !== undefined) return;
    const limit = this.buffer === '' ? keepAliveTimeoutMs : HEAD_TIMEOUT_MS;
    if (now - this.since > limit) this.close();
  }

  private onData(chunk: string): void {
    if (this.skipBody > 0) {
      const skipped = Math.min(this.skipBody, chunk.length);
      this.skipBody -= skipped;
      chunk = chunk.slice(skipped);
    }
    if (this.buffer === '' && this.current === undefined) this.since = Date.now();
    this.buffer = this.buffer === '' ? chunk : this.buffer + chunk;
    if (this.current === undefined) this.next();
    else if (this.buffer.length > MAX_BUFFERED_BYTES) this.socket.destroy();
  }

  /** Parses and dispatches the next complete request in the buffer, if any. */
  private next(): void {
    if (this.current !== undefined || this.closing || this.buffer === '' || this.skipBody > 0) return;
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      // Else a request started: it must complete within the head timeout.
      if (this.buffer.length > MAX_HEAD_BYTES) this.reject(431);
      return;
    }
    if (headEnd > MAX_HEAD_BYTES) return this.reject(431);
    const head = this.buffer.slice(0, headEnd);
    this.buffer = this.buffer.slice(headEnd + 4);
    const lineEnd = head.indexOf('\r\n');
    const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
    const match = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(requestLine);
    if (match === null) return this.reject(400);
    const headers: Record<string, string> = {};
    if (lineEnd >= 0) {
      for (const line of head.slice(lineEnd + 2).split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) return this.reject(400);
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    if (headers['transfer-encoding'] !== undefined) return this.reject(400);
    const length = headers['content-length'];
    if (length !== undefined) {
      if (!/^\d+$/.test(length)) return this.reject(400);
      const bytes = Number(length);
      const inBuffer = Math.min(bytes, this.buffer.length);
      this.buffer = this.buffer.slice(inBuffer);
      this.skipBody = bytes - inBuffer;
    }
    const connectionHeader = headers.connection?.toLowerCase();
    const keepAlive = match[3] === '1' ? connectionHeader !== 'close' : connectionHeader === 'keep-alive';
    const response = new LeanResponse(this, keepAlive);
    this.current = response;
    this.handler({ method: match[1] as string, url: match[2] as string, headers }, response);
  }

  private reject(status: number): void {
    this.closing = true;
    const body = JSON.stringify({ error: { code: 'bad_request', message: STATUS_CODES[status] ?? 'bad request' } });
    this.socket.end(`${statusLine(status)}content-type: application/json; charset=utf-8\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  }

  /** @internal writes the current answer and moves on to the next request. */
  finish(raw: string | Buffer, close: boolean): void {
    if (this.socket.destroyed) return;
    this.current = undefined;
    if (close) {
      this.closing = true;
      if (typeof raw === 'string') this.socket.end(raw, 'utf8');
      else this.socket.end(raw);
      return;
    }
    if (typeof raw === 'string') this.socket.write(raw, 'utf8');
    else this.socket.write(raw);
    this.since = Date.now();
    // A pipelined request may be waiting; answer it on a later turn, never re-entrantly.
    if (this.buffer !== '') setImmediate(() => this.next());
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

/** Starts nothing: `server.listen()` does. `handler` must answer every request exactly once. */
export function createLeanServer(handler: (request: LeanRequest, response: LeanResponse) => void, options: LeanServerOptions = {}): LeanServer {
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 65_000;
  const connections = new Set<Connection>();
  const server = createServer({ noDelay: true }, (socket) => {
    const connection = new Connection(socket, handler);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  let sweep: NodeJS.Timeout | undefined;
  server.on('listening', () => {
    sweep = setInterval(() => {
      const now = Date.now();
      for (const connection of connections) connection.checkTimeouts(now, keepAliveTimeoutMs);
    }, TIMEOUT_SWEEP_MS);
    sweep.unref();
    if (dateUsers++ === 0) {
      dateTimer = setInterval(() => {
        dateText = new Date().toUTCString();
      }, 1000);
      dateTimer.unref();
      dateText = new Date().toUTCString();
    }
  });
  server.on('close', () => {
    clearInterval(sweep);
    if (--dateUsers === 0 && dateTimer !== undefined) clearInterval(dateTimer);
  });
  return {
    server,
    closeIdleConnections() {
      for (const connection of connections) if (connection.idle) connection.close();
    },
    closeAllConnections() {
      for (const connection of connections) connection.close();
    },
  };
}
