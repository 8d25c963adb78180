import type Router from '@koa/router';

/**
 * A strict policy for the placeholder page: nothing but same-origin styles,
 * no framing, no forms, no base URL games.
 */
export const HOME_PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HOME_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Parley</title></head>
<body>
<h1>Parley</h1>
<p>Distributed chat on the Lingr model; the web client is on its way.</p>
</body>
</html>
`;

/** `GET /healthz` (`{"ok":true,"role":"web"}`) and the placeholder `GET /`. */
export function registerPublicRoutes(router: Router): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true, role: 'web' };
  });

  router.get('/', (ctx) => {
    ctx.set('Content-Security-Policy', HOME_PAGE_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = HOME_PAGE;
  });
}
