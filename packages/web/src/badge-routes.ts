import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ChatError, parseRoomName } from '@parley/protocol';
import type { ChatStore } from '@parley/store';
import { sendAsset, type Asset } from './assets.js';

/** Name of the built badge script in the asset map (`dist/public/badge.js`). */
export const BADGE_SCRIPT_ASSET = 'badge.js';
/** The badge script may change with a deploy; five minutes bounds how long an old one lingers. */
export const BADGE_SCRIPT_CACHE_CONTROL = 'public, max-age=300';
/**
 * The image shows a live count: 30 s is stale enough for a README yet keeps
 * an image proxy (GitHub's camo) from asking on every view.
 */
export const BADGE_SVG_CACHE_CONTROL = 'public, max-age=30';

/** Colours of the flat badge, as shields.io draws them. */
const COLOURS = { label: '#555', active: '#4c1', idle: '#9f9f9f' } as const;
/** Horizontal padding on each side of a half's text, px. */
const PADDING = 6;

// Average advance widths of Verdana 11px (the shields.io font), in px, by
// character class: exact enough to centre the text without a font at hand.
const NARROW = new Set('fijlrtI!|.,:;\'()[] ');
const WIDE = new Set('mwMW@%');

/** Estimated width in px of `text` in Verdana 11px. */
export function estimateTextWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    if (NARROW.has(char)) width += 3.8;
    else if (WIDE.has(char)) width += 10.5;
    else if (char >= 'A' && char <= 'Z') width += 7.8;
    else width += 6.9;
  }
  // Rounded to the tenths it adds up first: a float sum depends on the order of its terms.
  return Math.ceil(Math.round(width * 10) / 10);
}

/** Escapes text for an XML text node or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[char]};`);
}

/** What the badge image says. */
export interface BadgeSvgInput {
  /** Left half, usually the room name. */
  label: string;
  /** Right half, e.g. `12 online`. */
  message: string;
  /** Right half's colour (left is always grey). */
  colour: string;
}

/** A shields.io-style flat badge: two rounded halves with centred, shadowed text. */
export function renderBadgeSvg({ label, message, colour }: BadgeSvgInput): string {
  const left = estimateTextWidth(label) + 2 * PADDING;
  const right = estimateTextWidth(message) + 2 * PADDING;
  const width = left + right;
  const title = escapeXml(`${label}: ${message}`);
  const text = (content: string, x: number): string =>
    `<text x="${x}" y="15" fill="#010101" fill-opacity=".3">${escapeXml(content)}</text>` +
    `<text x="${x}" y="14">${escapeXml(content)}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${title}">` +
    `<title>${title}</title>` +
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>' +
    `<clipPath id="r"><rect width="${width}" height="20" rx="3" fill="#fff"/></clipPath>` +
    '<g clip-path="url(#r)">' +
    `<rect width="${left}" height="20" fill="${COLOURS.label}"/>` +
    `<rect x="${left}" width="${right}" height="20" fill="${escapeXml(colour)}"/>` +
    `<rect width="${width}" height="20" fill="url(#s)"/>` +
    '</g>' +
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">' +
    text(label, left / 2) +
    text(message, left + right / 2) +
    '</g></svg>'
  );
}

/** The badge of a room with `occupants` people in it. */
export function roomBadgeSvg(room: string, occupants: number): string {
  return renderBadgeSvg({
    label: room,
    message: `${occupants} online`,
    colour: occupants > 0 ? COLOURS.active : COLOURS.idle,
  });
}

/** Both badge answers are meant to be embedded by any site. */
function allowEmbedding(ctx: Context): void {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
}

/**
 * The embeddable badge: `GET /badge.js` (the built live badge script, from
 * the asset map loaded at start) and `GET /badge/:room.svg` (a cacheable
 * image with the room's occupant count, read in O(1) by `roomSummary`). The
 * badge is for public rooms only: a private room's image is an unknown room's.
 */
export function registerBadgeRoutes(router: Router, store: ChatStore, assets: Map<string, Asset>): void {
  router.get('/badge.js', (ctx) => {
    const script = assets.get(BADGE_SCRIPT_ASSET);
    if (script === undefined) throw new ChatError('not_found', 'badge.js is not built (npm run build)');
    allowEmbedding(ctx);
    sendAsset(ctx, script, BADGE_SCRIPT_CACHE_CONTROL);
  });

  // @koa/router's `:room.svg` would split on the dot; match the file name and check the suffix.
  router.get('/badge/:file', async (ctx) => {
    const file = ctx.params.file ?? '';
    if (!file.endsWith('.svg')) throw new ChatError('not_found', 'badges are /badge/ROOM.svg');
    const room = parseRoomName(file.slice(0, -'.svg'.length));
    // An unknown room gets the same image with 0 online: an <img> needs an image, not an error.
    // The badge is for public rooms: a private one looks exactly like an unknown room, even to a member.
    const access = (await store.roomAccess([room], null)).get(room);
    const occupants = access === 'public' ? ((await store.roomSummary(room))?.occupants ?? 0) : 0;
    const svg = roomBadgeSvg(room, occupants);
    const etag = `"${createHash('sha256').update(svg).digest('base64url').slice(0, 22)}"`;
    allowEmbedding(ctx);
    ctx.set('Cache-Control', BADGE_SVG_CACHE_CONTROL);
    ctx.set('ETag', etag);
    if (ctx.get('If-None-Match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'image/svg+xml; charset=utf-8';
    ctx.body = svg;
  });
}
