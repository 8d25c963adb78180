import type Router from '@koa/router';
import type { Context } from 'koa';
import { isRoomName } from '@parley/protocol';

/**
 * The chat page's policy: scripts, styles, images and requests from this
 * origin only, no inline code of any kind (every text is set by script as
 * text), no `<base>`, forms post here only, never framed.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The one shell of `/` and `/rooms/:room`: `app.js` reads the path and draws
 * the page, so both answer the same bytes (and a client-side switch of rooms
 * needs no request).
 */
export const PAGE_SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<link rel="stylesheet" href="/assets/messages.css">
<script defer src="/assets/app.js"></script>
</head>
<body>
<noscript><p class="noscript">Parley's chat page needs JavaScript. The HTTP API works without it.</p></noscript>
<div id="app"></div>
</body>
</html>
`;

/** The answer to `/rooms/<not a room name>`: a page a person can read, with the way back. */
export const BAD_ROOM_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not a room name - Parley</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<main class="page-error">
<h1>That is not a room name</h1>
<p>Room names are 1 to 64 characters: lowercase letters, digits, <code>-</code> and <code>_</code>, starting with a letter or digit.</p>
<p><a href="/">Back to the rooms</a></p>
</main>
</body>
</html>
`;

function sendPage(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  // Room names in paths are nobody else's business.
  ctx.set('Referrer-Policy', 'same-origin');
  // Older browsers ignore frame-ancestors; no other window may script this one.
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
  // The shell is tiny and its script and style are revalidated by ETag anyway.
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

/**
 * `GET /` and `GET /rooms/:room`: the chat page's HTML shell with a strict
 * CSP. A path that is not a room name answers an HTML page with status 400.
 */
export function registerPageRoutes(router: Router): void {
  router.get('/', (ctx) => sendPage(ctx, 200, PAGE_SHELL));
  router.get('/rooms/:room', (ctx) => {
    const room = ctx.params.room;
    if (isRoomName(room)) sendPage(ctx, 200, PAGE_SHELL);
    else sendPage(ctx, 400, BAD_ROOM_PAGE);
  });
}
