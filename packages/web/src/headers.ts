import type { Middleware } from 'koa';

/**
 * Headers on every answer: `X-Content-Type-Options: nosniff` everywhere, and
 * `Cache-Control: no-store` on the API and internal endpoints, whose answers
 * are per-session or change with every write.
 */
export function commonHeadersMiddleware(): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/internal/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
