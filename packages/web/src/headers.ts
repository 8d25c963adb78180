import type { Middleware } from 'koa';
import { SECURITY_HEADERS } from '@parley/protocol/node';
import { isTlsRequest, type TrustedProxies } from './client-address.js';

/** HSTS lifetime: one year, the usual preload minimum. */
const HSTS_VALUE = 'max-age=31536000';

/**
 * Headers on every answer: the security headers of every Parley server
 * (`SECURITY_HEADERS`: `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`), but no
 * `X-Frame-Options` on the badge, which third-party pages embed; `Strict-Transport-Security`
 * only on answers to a request that came over TLS (an HTTP answer's HSTS is
 * ignored, and a local cluster without TLS must stay reachable); and
 * `Cache-Control: no-store` on the API and internal endpoints, whose answers
 * are per-session or change with every write. Pages add their CSP
 * (`frame-ancestors 'none'`) and `Cross-Origin-Opener-Policy` themselves.
 */
export function commonHeadersMiddleware(trustedProxies: TrustedProxies): Middleware {
  return async (ctx, next) => {
    const framable = ctx.path.startsWith('/badge');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!(framable && name === 'x-frame-options')) ctx.set(name, value);
    }
    if (isTlsRequest(ctx, trustedProxies)) ctx.set('Strict-Transport-Security', HSTS_VALUE);
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/internal/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
