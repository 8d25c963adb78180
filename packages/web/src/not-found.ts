import type { Middleware } from 'koa';
import { ChatError } from '@parley/protocol';

interface MatchedLayer {
  methods: string[];
}

/**
 * Runs after the router when no route took the request: a path that exists
 * with other methods is 405 `method_not_allowed` (with `Allow`), any other
 * path 404 `not_found` — both as JSON, unlike Koa's plain-text defaults.
 */
export function notFoundMiddleware(): Middleware {
  return (ctx) => {
    // @koa/router leaves the layers whose path matched (whatever their method) on ctx.matched.
    const matched = (ctx as { matched?: MatchedLayer[] }).matched ?? [];
    const allowed = [...new Set(matched.flatMap((layer) => layer.methods))];
    if (allowed.length > 0) {
      ctx.set('Allow', allowed.join(', '));
      throw new ChatError('method_not_allowed', `${ctx.method} is not allowed here; use ${allowed.join(', ')}`);
    }
    throw new ChatError('not_found', 'no such endpoint');
  };
}
