import type { Middleware } from 'koa';

/** Seconds a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for `/api/*`: any origin may call the API, never with credentials —
 * cross-origin callers authenticate with `Authorization: Bearer`, so the
 * session cookie is never usable from another origin. A preflight (`OPTIONS`)
 * is answered 204 here without reaching the routes.
 */
export function corsMiddleware(): Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/api/')) {
      await next();
      return;
    }
    ctx.set('Access-Control-Allow-Origin', '*');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE');
      ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Requested-With');
      ctx.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
      ctx.status = 204;
      return;
    }
    await next();
  };
}
