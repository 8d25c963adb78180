import type { Middleware } from 'koa';
import { isTlsRequest, type TrustedProxies } from './client-address.js';

/** HSTS lifetime: one year, the usual preload minimum. */
const HSTS_VALUE = 'max-age=31536000';

/**
 * Headers on every answer: `X-Content-Type-Options: nosniff` and
 * `Referrer-Policy: same-origin` everywhere; `X-Frame-Options: DENY` on all
 * but the badge, which third-party pages embed; `Strict-Transport-Security`
 * only on answers to a request that came over TLS (an HTTP answer's HSTS is
 * ignored, and a local cluster without TLS must stay reachable); and
 * `Cache-Control: no-store` on the API and internal endpoints, whose answers
 * are per-session or change with every write. Pages add their CSP
 * (`frame-ancestors 'none'`) and `Cross-Origin-Opener-Policy` themselves.
 */
export function commonHeadersMiddleware(trustedProxies: TrustedProxies): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    if (!ctx.path.startsWith('/badge')) ctx.set('X-Frame-Options', 'DENY');
    if (isTlsRequest(ctx, trustedProxies)) ctx.set('Strict-Transport-Security', HSTS_VALUE);
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/internal/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
