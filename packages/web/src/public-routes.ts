import type Router from '@koa/router';

/** `GET /healthz` (`{"ok":true,"role":"web"}`). The chat pages are in `pages.ts`. */
export function registerPublicRoutes(router: Router): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true, role: 'web' };
  });
}
