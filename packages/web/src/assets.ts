import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { ChatError } from '@parley/protocol';

/** Where `scripts/build-ui.mjs` writes the bundles (`packages/web/dist/public`, from src/ or dist/ alike). */
export const DEFAULT_PUBLIC_DIR = new URL('../dist/public/', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's icon, `packages/web/ui/favicon.svg`. */
const FAVICON = 'favicon.svg';

/** One built file, read once at start: small, and served on every page view. */
export interface Asset {
  body: Buffer;
  contentType: string;
  /** Strong validator, so a revalidation costs a 304 and no body. */
  etag: string;
}

/** Loads every `.js`, `.css` and `.svg` file of `dir` (nothing when it does not exist: a build without UI). */
export function loadAssets(dir: URL | string = DEFAULT_PUBLIC_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const extension = name.slice(name.lastIndexOf('.'));
    const contentType = CONTENT_TYPES[extension];
    if (contentType === undefined) continue;
    const body = readFileSync(new URL(name, dir instanceof URL ? dir : `file://${dir.replace(/\/?$/, '/')}`));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, contentType, etag });
  }
  return assets;
}

/**
 * `GET /assets/:file`: the built scripts, styles and icon; `GET /favicon.ico`: the icon. Names are looked up in the
 * map loaded at start, so no request path ever reaches the file system.
 * Cached for five minutes, then revalidated by ETag.
 */
export function registerAssetRoutes(router: Router, assets: Map<string, Asset>): void {
  router.get('/assets/:file', (ctx) => {
    const asset = assets.get(ctx.params.file ?? '');
    if (asset === undefined) throw new ChatError('not_found', 'no such asset');
    sendAsset(ctx, asset);
  });
  // Browsers and feed readers ask for /favicon.ico whatever the page links:
  // the SVG icon answers (every current browser draws an SVG favicon by its type).
  router.get('/favicon.ico', (ctx) => {
    const icon = assets.get(FAVICON);
    if (icon === undefined) throw new ChatError('not_found', 'no favicon in this build');
    sendAsset(ctx, icon, 'public, max-age=86400');
  });
}

/** Writes `asset` with its type, validator and cache policy (304 when the client has it). */
export function sendAsset(
  ctx: { set(field: string, value: string): void; get(field: string): string; status: number; type: string; body: unknown },
  asset: Asset,
  cacheControl = 'public, max-age=300',
): void {
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', asset.etag);
  if (ctx.get('If-None-Match') === asset.etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = asset.contentType;
  ctx.body = asset.body;
}
