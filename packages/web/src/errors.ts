import type { Context, Middleware } from 'koa';
import { ChatError, type Logger } from '@parley/protocol';
import { isTransientDatabaseFailure } from '@parley/store';

// Errors thrown by Koa or its helpers (http-errors) carry a status; the few a
// client can cause are mapped onto the protocol's table, the rest are ours.
const HTTP_STATUS_CODES: Readonly<Record<number, ChatError['code']>> = {
  400: 'invalid_body',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

// A full disk or a lock held too long: nothing was stored, and the same
// request will succeed once the database can write again.
const RETRY_AFTER_TRANSIENT_SECONDS = 2;

function toChatError(error: unknown): ChatError | undefined {
  if (error instanceof ChatError) return error;
  if (typeof error === 'object' && error !== null) {
    const { status, expose } = error as { status?: unknown; expose?: unknown };
    if (typeof status === 'number' && expose === true) {
      const code = HTTP_STATUS_CODES[status];
      if (code !== undefined) return new ChatError(code, String((error as Error).message));
    }
  }
  return undefined;
}

/**
 * Turns any thrown value into the protocol's error answer on `ctx`:
 * a `ChatError` keeps its status and code (and `Retry-After`); a database that
 * cannot write now (full disk, lock timeout) is 503 `unavailable` with
 * `Retry-After`; anything else is logged and answered 500 `internal` without
 * its message.
 */
export function setErrorAnswer(ctx: Context, error: unknown, log: Logger): void {
  let chatError = toChatError(error);
  if (chatError === undefined && isTransientDatabaseFailure(error)) {
    log.warn({ err: error, method: ctx.method, path: ctx.path }, 'database cannot write now; answered unavailable');
    chatError = new ChatError('unavailable', 'the database cannot take this now; retry shortly', { retryAfterSeconds: RETRY_AFTER_TRANSIENT_SECONDS });
  }
  if (chatError === undefined) {
    log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
    chatError = new ChatError('internal', 'internal error');
  }
  ctx.status = chatError.status;
  ctx.body = chatError.toBody();
  if (chatError.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(chatError.retryAfterSeconds));
}

/** The outermost middleware: every error becomes `{"error":{"code","message"}}`. */
export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      setErrorAnswer(ctx, error, log);
    }
  };
}
