import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type Router from '@koa/router';
import { ChatError } from '@parley/protocol';
import { sendAsset, type Asset } from './assets.js';
import { isJsonpRequest } from './jsonp.js';

/** Where the public contract is served. */
export const OPENAPI_PATH = '/api/openapi.json';
/** Where `scripts/build-ui.mjs` writes `docs/openapi.yaml` as JSON. */
export const DEFAULT_OPENAPI_FILE = new URL('../dist/openapi.json', import.meta.url);
/** The contract changes with a deploy only: cache it like the other built files. */
export const OPENAPI_CACHE_CONTROL = 'public, max-age=300';

/** The built OpenAPI document: its bytes (served as they are) and its value (for JSONP). */
export interface OpenApiDocument {
  asset: Asset;
  value: unknown;
}

/** Reads the built document once at start; `undefined` when it was not built. */
export function loadOpenApiDocument(file: URL | string = DEFAULT_OPENAPI_FILE): OpenApiDocument | undefined {
  if (!existsSync(file)) return undefined;
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { asset: { body, contentType: 'application/json; charset=utf-8', etag }, value: JSON.parse(body.toString('utf8')) as unknown };
}

/**
 * `GET /api/openapi.json`: docs/openapi.yaml, the public contract, as JSON.
 * Cacheable (it is the same for everyone until the next deploy), unlike the
 * rest of `/api/`; 404 `not_found` when the build did not make it.
 */
export function registerOpenApiRoute(router: Router, document: OpenApiDocument | undefined): void {
  router.get(OPENAPI_PATH, (ctx) => {
    if (document === undefined) throw new ChatError('not_found', 'openapi.json is not built (npm run build)');
    // JSONP wraps the answer's value; the bytes are for everyone else.
    if (isJsonpRequest(ctx)) {
      ctx.body = document.value;
      return;
    }
    sendAsset(ctx, document.asset, OPENAPI_CACHE_CONTROL);
  });
}
