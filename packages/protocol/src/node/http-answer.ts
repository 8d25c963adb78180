import { ChatError } from '../errors.js';

/**
 * How long a Node server behind a proxy keeps an idle keep-alive connection:
 * longer than nginx's upstream `keepalive_timeout` (60 s), so nginx always
 * closes first and never sends a request on a connection the server is
 * closing (Node's default, 5 s, raced it; a POST is not replayed).
 */
export const UPSTREAM_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Where a Node server writes an answer: `node:http`'s `ServerResponse`, or
 * the chatserver's lean connection answer.
 */
export interface AnswerSink {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Readonly<Record<string, string>>): unknown;
  end(body?: string): unknown;
}

/**
 * Security headers of every answer of Parley's Node servers (chatserver,
 * worker health); the web tier's Koa middleware sends the same (see
 * docs/SECURITY.md).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
});

/** Headers of every JSON answer of Parley's Node servers: never cached, with the security headers. */
export const JSON_ANSWER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  ...SECURITY_HEADERS,
});

/** Writes a complete answer unless the client is gone or an answer was already written. */
export function sendAnswer(res: AnswerSink, status: number, headers: Readonly<Record<string, string>>, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Writes a JSON answer with `JSON_ANSWER_HEADERS` and `extra`. */
export function sendJsonAnswer(res: AnswerSink, status: number, json: string, extra: Readonly<Record<string, string>> = {}): void {
  sendAnswer(res, status, { ...JSON_ANSWER_HEADERS, ...extra }, json);
}

/** Writes `error` as `{"error":{"code","message"}}` JSON with its status (and `Retry-After`). */
export function sendErrorAnswer(res: AnswerSink, error: ChatError, extra: Readonly<Record<string, string>> = {}): void {
  sendJsonAnswer(res, error.status, JSON.stringify(error.toBody()), { ...retryAfterHeader(error), ...extra });
}

/** The `Retry-After` header of an error, if it has one. */
export function retryAfterHeader(error: ChatError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
}
