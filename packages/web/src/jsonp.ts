import type { Context, Middleware } from 'koa';
import { JSONP_HEADERS, parseCallbackName, wrapJsonp, type Logger } from '@parley/protocol';
import { setErrorAnswer } from './errors.js';

/**
 * Is this a JSONP request: a read-only GET (or HEAD) under `/api/` with a
 * `callback`? A `callback` on a write is ignored, so the write is refused or
 * done exactly as without it.
 */
export function isJsonpRequest(ctx: Context): boolean {
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.path.startsWith('/api/') && ctx.query.callback !== undefined;
}

/**
 * JSONP for the read-only API: the answer, errors included, becomes
 * `/**\/NAME({...});` with status 200 (a `<script>` cannot read a status) and
 * the script headers. An invalid callback name is refused with a plain 400
 * JSON `invalid_callback` by the error middleware outside this one.
 */
export function jsonpMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    if (!isJsonpRequest(ctx)) {
      await next();
      return;
    }
    const callback = parseCallbackName(ctx.query.callback);
    try {
      await next();
    } catch (error) {
      setErrorAnswer(ctx, error, log);
    }
    const body: unknown = ctx.body ?? {};
    ctx.remove('Retry-After');
    ctx.status = 200;
    ctx.body = wrapJsonp(callback, JSON.stringify(body));
    // After the body: assigning a string body would otherwise pick text/plain.
    ctx.set(JSONP_HEADERS);
  };
}
