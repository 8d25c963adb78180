import { ChatError, JSONP_HEADERS, wrapJsonp } from '@parley/protocol';
import type { AnswerSink } from './lean-http.js';
import { WebTierUnavailableError } from './web-client.js';

/** Security headers of every chatserver answer (the web tier sends the same; see docs/SECURITY.md). */
const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
});

/** Headers of every JSON answer of the chatserver. */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  ...SECURITY_HEADERS,
  'access-control-allow-origin': '*',
});

/** A request target split into its path and query parameters. */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/**
 * Splits `req.url` by hand: `new URL()` would read `//host/x` as another
 * host, and the chatserver only ever needs the path and the query.
 */
export function parseTarget(rawUrl: string | undefined): RequestTarget {
  const raw = rawUrl ?? '/';
  const question = raw.indexOf('?');
  if (question === -1) return { path: raw, query: new URLSearchParams() };
  return { path: raw.slice(0, question), query: new URLSearchParams(raw.slice(question + 1)) };
}

/** Writes a complete answer unless the client is gone or an answer was already written. */
export function send(
  res: AnswerSink,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Writes a JSON answer with the chatserver's JSON headers. */
export function sendJson(res: AnswerSink, status: number, json: string, extra: Record<string, string> = {}): void {
  send(res, status, { ...JSON_HEADERS, ...extra }, json);
}

/** Writes a JSONP answer (`callback` already validated); always 200 so a `<script>` runs it. */
export function sendJsonp(res: AnswerSink, callback: string, json: string, extra: Record<string, string> = {}): void {
  send(res, 200, { ...JSONP_HEADERS, ...SECURITY_HEADERS, ...extra }, wrapJsonp(callback, json));
}

/**
 * Turns anything thrown into a protocol error: `ChatError` as is, an
 * unreachable web tier as 503 `unavailable`, anything else as 500 `internal`
 * (whose message is never sent).
 */
export function toChatError(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  if (error instanceof WebTierUnavailableError) {
    return new ChatError('unavailable', 'chat history is unavailable, try again', { retryAfterSeconds: 1 });
  }
  return new ChatError('internal', 'internal error');
}

/** Writes `error` as `{"error":{"code","message"}}` JSON with its status (and `Retry-After`). */
export function sendError(res: AnswerSink, error: ChatError, extra: Record<string, string> = {}): void {
  sendJson(res, error.status, JSON.stringify(error.toBody()), { ...retryAfter(error), ...extra });
}

/** The `Retry-After` header of an error, if it has one. */
export function retryAfter(error: ChatError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
}
