import { ChatError, JSONP_HEADERS, wrapJsonp } from '@parley/protocol';
import {
  JSON_ANSWER_HEADERS,
  SECURITY_HEADERS,
  WebTierUnavailableError,
  sendAnswer,
  sendErrorAnswer,
  sendJsonAnswer,
  type AnswerSink,
} from '@parley/protocol/node';

// Observe answers are read cross-origin (a page on another site may embed a room).
const CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'access-control-allow-origin': '*' });

/** Headers of every JSON answer of the chatserver: the Node servers' JSON headers, readable cross-origin. */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ ...JSON_ANSWER_HEADERS, ...CORS_HEADERS });

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

/** Writes a JSON answer with the chatserver's JSON headers. */
export function sendJson(res: AnswerSink, status: number, json: string, extra: Record<string, string> = {}): void {
  sendJsonAnswer(res, status, json, { ...CORS_HEADERS, ...extra });
}

/** Writes a JSONP answer (`callback` already validated); always 200 so a `<script>` runs it. */
export function sendJsonp(res: AnswerSink, callback: string, json: string, extra: Record<string, string> = {}): void {
  sendAnswer(res, 200, { ...JSONP_HEADERS, ...SECURITY_HEADERS, ...extra }, wrapJsonp(callback, json));
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

/** Writes `error` as `{"error":{"code","message"}}` JSON with its status (and `Retry-After`), readable cross-origin. */
export function sendError(res: AnswerSink, error: ChatError, extra: Record<string, string> = {}): void {
  sendErrorAnswer(res, error, { ...CORS_HEADERS, ...extra });
}
