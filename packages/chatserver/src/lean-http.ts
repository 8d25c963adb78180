import { createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { JSON_ANSWER_HEADERS, UPSTREAM_KEEP_ALIVE_TIMEOUT_MS, type AnswerSink as NodeAnswerSink } from '@parley/protocol/node';
import { queuedBytes, writeBuffer } from './socket-write.js';

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
 * pipelined requests (answered in order), `Connection: close`, bare-LF line
 * ends. Every route is a GET: a request with a body (`Content-Length` > 0)
 * gets 413, a chunked one or a malformed one 400, one whose head exceeds
 * 16 KiB 431; each closes the connection, and nothing after it is read.
 * Unanswered bytes are bounded (64 KiB), and a client that does not read its
 * answers is not read from until they drain. A streamed answer
 * (`beginStream`, the EventSource observe) has no length: it is the
 * connection's last, and a stream client 256 KiB behind is cut.
 */

/** A parsed request: method, target and headers (names lower-cased; repeated headers keep the last). */
export interface LeanRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** What a handler answers with: the answer writers' sink, plus a close event. */
export interface AnswerSink extends NodeAnswerSink {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** Options of `createLeanServer`. */
export interface LeanServerOptions {
  /** Idle keep-alive connections are closed after this long. @default UPSTREAM_KEEP_ALIVE_TIMEOUT_MS (65 s) */
  keepAliveTimeoutMs?: number;
  /** A connection closing after its last answer is cut this long after it, read or not. @default 5000 */
  closeLingerMs?: number;
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
// Answers queued for a client that does not read them: past this, stop reading its requests.
const MAX_QUEUED_WRITE_BYTES = 64 * 1024;
// A stream client this far behind is cut (it resumes from its cursor): 16
// heartbeats' or a few hundred events' worth, far above what a reader lags by.
const MAX_UNREAD_STREAM_BYTES = 256 * 1024;
// A connection that started a request head must finish it within this (slowloris).
const HEAD_TIMEOUT_MS = 60_000;
// Idle and head timeouts are checked this often, by one timer for all
// connections: re-arming a socket timeout on every request and answer cost
// more than the rest of the connection's bookkeeping.
const TIMEOUT_SWEEP_MS = 1000;

/** A request refused before any handler saw it; the connection closes after the answer. */
interface Refusal {
  status: number;
  code: 'invalid_request' | 'payload_too_large' | 'method_not_allowed';
  message: string;
  /** Extra header lines, each ending in CRLF. */
  headers?: string;
}
const BAD_REQUEST: Refusal = { status: 400, code: 'invalid_request', message: 'malformed HTTP request' };
// No code of the protocol's table is 431; the closest is the malformed-request one.
const HEAD_TOO_LARGE: Refusal = { status: 431, code: 'invalid_request', message: 'request head over 16 KiB' };
const BODY_REFUSED: Refusal = { status: 413, code: 'payload_too_large', message: 'this server takes GET requests without a body' };
// A POST or PUT with a body is first of all the wrong method (as the handlers answer it without one).
const METHOD_REFUSED: Refusal = { status: 405, code: 'method_not_allowed', message: 'only GET is allowed here', headers: 'allow: GET\r\n' };
// The JSON, caching and security headers of every answer of a Node server.
const REFUSAL_HEADERS = Object.entries(JSON_ANSWER_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('');

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
    /** An HTTP/1.0 client keeps the connection only when the answer says so. */
    private readonly http10 = false,
    /** HEAD: the answer's head only, or the next answer on the connection would be misread. */
    private readonly headOnly = false,
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
    const connectionHeader = this.closeOnEnd ? 'connection: close\r\n' : this.http10 ? 'connection: keep-alive\r\n' : '';
    this.connection.finish(
      `${statusLine(this.status)}date: ${httpDate()}\r\n${this.headerText}${connectionHeader}content-length: ${bodyBytes}\r\n\r\n${this.headOnly ? '' : body}`,
      this.closeOnEnd,
    );
  }

  /**
   * Writes a complete answer built by `prebuiltAnswer` (one Buffer shared by
   * many connections). Returns false, writing nothing, when this connection
   * is to close after the answer or is HTTP/1.0 (either needs its own
   * `Connection` header), or the request was HEAD (no body).
   */
  endPrebuilt(raw: Buffer): boolean {
    if (this.sent || this.closeOnEnd || this.http10 || this.headOnly) return false;
    this.sent = true;
    this.connection.finish(raw, false);
    return true;
  }

  /**
   * Starts a streamed answer (no length: the connection closes after it):
   * writes the status line, `Date`, `headers` and `connection: close`, and
   * `first` right behind them, in one write. Returns false, writing nothing,
   * when an answer was already given or the request was HEAD.
   */
  beginStream(headers: Readonly<Record<string, string>>, first: string): boolean {
    if (this.sent || this.headOnly || this.connection.socket.destroyed) return false;
    this.sent = true;
    let head = `${statusLine(200)}date: ${httpDate()}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name] as string}\r\n`;
    this.connection.beginStream(`${head}connection: close\r\n\r\n${first}`);
    return true;
  }

  /**
   * Writes one chunk of a streamed answer (one socket write; a shared Buffer
   * is written as is). A client that left this many bytes unread is cut:
   * it reconnects and resumes from its cursor instead of growing our memory.
   */
  writeStream(chunk: string | Buffer): void {
    this.connection.writeStream(chunk);
  }

  /** Bytes written to the stream that the client has not read yet. */
  get unreadBytes(): number {
    return queuedBytes(this.connection.socket);
  }

  /** Ends a streamed answer: the connection closes once the written bytes are out. */
  endStream(): void {
    this.connection.endStream();
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
  /** Received bytes; those before `offset` are parsed already. */
  private buffer = '';
  private offset = 0;
  /** No head terminator starts before this index of `buffer` (so a trickled head is not rescanned). */
  private scanned = 0;
  private current: LeanResponse | undefined;
  private closing = false;
  /** Reading is paused: pipelined requests wait for a later turn, or the client does not read its answers. */
  private paused = false;
  private awaitingDrain = false;
  /** Inside the dispatch loop: an answer given at once lets the loop go on. */
  private dispatching = false;
  /** A streamed answer is being written: the linger timeout starts only when it ends. */
  private streaming = false;
  /** When the connection last became idle (answered), started a request head, or began closing. */
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
    return this.current === undefined && this.offset === this.buffer.length;
  }

  /** Destroys the connection when idle past the keep-alive timeout, stuck in a request head, or done closing. */
  checkTimeouts(now: number, keepAliveTimeoutMs: number, closeLingerMs: number): void {
    // Written through the handle and then through the `Writable`, the bytes may drain with no
    // `'drain'` (the `Writable` emits one only past its own high-water mark): look here too.
    if (this.awaitingDrain && queuedBytes(this.socket) <= MAX_QUEUED_WRITE_BYTES) this.socket.emit('drain');
    if (this.streaming) return;
    if (this.closing) {
      // The last answer had this long to reach the client (which may never close its side).
      if (now - this.since > closeLingerMs) this.socket.destroy();
      return;
    }
    if (this.current !== undefined) return;
    const limit = this.offset === this.buffer.length ? keepAliveTimeoutMs : HEAD_TIMEOUT_MS;
    if (now - this.since > limit) this.close();
  }

  private onData(chunk: string): void {
    // Past a rejection or a last answer nothing more is answered: read and drop
    // (reading on lets the client see the answer rather than a reset).
    if (this.closing) return;
    if (this.offset === this.buffer.length) {
      if (this.current === undefined) this.since = Date.now();
      this.buffer = chunk;
      this.offset = 0;
      this.scanned = 0;
    } else {
      // Drop the parsed part so the buffer holds only what is unanswered.
      this.buffer = this.buffer.slice(this.offset) + chunk;
      this.scanned -= this.offset;
      this.offset = 0;
    }
    // Whatever is in progress, unanswered bytes are bounded: a real client sends one request at a time.
    if (this.buffer.length > MAX_BUFFERED_BYTES) {
      this.socket.destroy();
      return;
    }
    this.next();
  }

  /** Parses and dispatches complete requests in the buffer while each is answered at once. */
  private next(): void {
    this.dispatching = true;
    try {
      while (this.current === undefined && !this.closing && !this.socket.destroyed) {
        if (queuedBytes(this.socket) > MAX_QUEUED_WRITE_BYTES) return this.pauseUntilDrained();
        if (!this.dispatchOne()) break;
      }
    } finally {
      this.dispatching = false;
    }
    if (this.paused && !this.awaitingDrain && !this.closing && queuedBytes(this.socket) <= MAX_QUEUED_WRITE_BYTES) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private pauseUntilDrained(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.socket.once('drain', () => {
      this.awaitingDrain = false;
      this.next();
    });
  }

  /** Parses one request and hands it to the handler; false when no complete request head is buffered. */
  private dispatchOne(): boolean {
    const buffer = this.buffer;
    if (this.offset === buffer.length) return false;
    const from = Math.max(this.offset, this.scanned);
    // Bare-LF line ends are accepted too (RFC 9112 §2.2 allows it).
    const crlfEnd = buffer.indexOf('\r\n\r\n', from);
    const lfEnd = buffer.indexOf('\n\n', from);
    let headEnd: number;
    let bodyStart: number;
    if (lfEnd >= 0 && (crlfEnd < 0 || lfEnd < crlfEnd + 1)) {
      headEnd = lfEnd;
      bodyStart = lfEnd + 2;
    } else if (crlfEnd >= 0) {
      headEnd = crlfEnd;
      bodyStart = crlfEnd + 4;
    } else {
      // Else a request started: it must complete within the head timeout.
      if (buffer.length - this.offset > MAX_HEAD_BYTES) this.reject(HEAD_TOO_LARGE);
      this.scanned = Math.max(this.offset, buffer.length - 3);
      return false;
    }
    if (headEnd - this.offset > MAX_HEAD_BYTES) {
      this.reject(HEAD_TOO_LARGE);
      return false;
    }
    const lines = buffer.slice(this.offset, headEnd).split('\n');
    this.offset = bodyStart;
    this.scanned = bodyStart;
    const request = parseHead(lines);
    if (typeof request === 'number') {
      this.reject(request === 413 ? BODY_REFUSED : request === 405 ? METHOD_REFUSED : BAD_REQUEST);
      return false;
    }
    const response = new LeanResponse(this, request.keepAlive, request.http10, request.method === 'HEAD');
    this.current = response;
    this.handler(request, response);
    return true;
  }

  private reject(refusal: Refusal): void {
    const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
    this.current = undefined;
    this.beginClosing(
      `${statusLine(refusal.status)}date: ${httpDate()}\r\n${REFUSAL_HEADERS}${refusal.headers ?? ''}connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  private beginClosing(last: string | Buffer): void {
    this.closing = true;
    this.since = Date.now();
    this.buffer = '';
    this.offset = 0;
    if (this.paused) {
      // Keep reading so the client's extra bytes are drained, not answered with a reset.
      this.paused = false;
      this.socket.resume();
    }
    if (typeof last === 'string') this.socket.end(last, 'utf8');
    else this.socket.end(last);
  }

  /** @internal writes the current answer and moves on to the next request. */
  finish(raw: string | Buffer, close: boolean): void {
    if (this.socket.destroyed) return;
    this.current = undefined;
    if (close) return this.beginClosing(raw);
    if (typeof raw === 'string') this.socket.write(raw, 'utf8');
    else writeBuffer(this.socket, raw);
    this.since = Date.now();
    if (this.dispatching) return;
    if (this.offset !== this.buffer.length) {
      // A pipelined request may be waiting; answer it on a later turn, never
      // re-entrantly, and read no more until then.
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      setImmediate(() => this.next());
    } else if (queuedBytes(this.socket) > MAX_QUEUED_WRITE_BYTES) {
      this.pauseUntilDrained();
    }
  }

  /** @internal a streamed answer begins: the connection serves nothing else and closes after it. */
  beginStream(head: string): void {
    // Pipelined requests after a stream are never answered; keep reading (and
    // dropping) so the client is not blocked, as after a last answer.
    this.closing = true;
    this.streaming = true;
    this.buffer = '';
    this.offset = 0;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.socket.write(head, 'utf8');
  }

  /** @internal */
  writeStream(chunk: string | Buffer): void {
    if (this.socket.destroyed) return;
    if (queuedBytes(this.socket) > MAX_UNREAD_STREAM_BYTES) {
      this.socket.destroy();
      return;
    }
    if (typeof chunk === 'string') this.socket.write(chunk, 'utf8');
    else writeBuffer(this.socket, chunk);
  }

  /** @internal */
  endStream(): void {
    if (!this.streaming || this.socket.destroyed) return;
    this.streaming = false;
    this.current = undefined;
    this.since = Date.now();
    this.socket.end();
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

interface ParsedRequest extends LeanRequest {
  readonly keepAlive: boolean;
  readonly http10: boolean;
}

/** The request of a head split into lines (a trailing CR on each is dropped), else the status to refuse it with. */
function parseHead(lines: string[]): ParsedRequest | 400 | 405 | 413 {
  const requestLine = withoutCr(lines[0] as string);
  const match = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(requestLine);
  if (match === null) return 400;
  const headers: Record<string, string> = {};
  for (let index = 1; index < lines.length; index++) {
    const line = withoutCr(lines[index] as string);
    const colon = line.indexOf(':');
    if (colon <= 0) return 400;
    const name = line.slice(0, colon).trim().toLowerCase();
    // Two lengths are a request-smuggling attempt or a broken client (RFC 9112 §6.3).
    if (name === 'content-length' && headers[name] !== undefined) return 400;
    headers[name] = line.slice(colon + 1).trim();
  }
  if (headers['transfer-encoding'] !== undefined) return 400;
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) return 400;
    // Every public route is a GET: a body is refused, not read (a trickled body would hold the connection).
    if (Number(length) > 0) return match[1] === 'GET' || match[1] === 'HEAD' ? 413 : 405;
  }
  const connectionHeader = headers.connection?.toLowerCase();
  const http10 = match[3] === '0';
  const keepAlive = http10 ? connectionHeader === 'keep-alive' : connectionHeader !== 'close';
  return { method: match[1] as string, url: match[2] as string, headers, keepAlive, http10 };
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Starts nothing: `server.listen()` does. `handler` must answer every request exactly once. */
export function createLeanServer(handler: (request: LeanRequest, response: LeanResponse) => void, options: LeanServerOptions = {}): LeanServer {
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? UPSTREAM_KEEP_ALIVE_TIMEOUT_MS;
  const closeLingerMs = options.closeLingerMs ?? 5000;
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
      for (const connection of connections) connection.checkTimeouts(now, keepAliveTimeoutMs, closeLingerMs);
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
