import { isRoomName } from '@parley/protocol';
import { BadgeFeed } from './badge-feed.js';
import { createBadgeView } from './view.js';

const SCRIPT_NAME = '/badge.js';

/** A badge snippet found in the page: its script, the deployment's base URL and the room. */
export interface Snippet {
  script: HTMLScriptElement;
  /** Where Parley is: the script's URL without `/badge.js` (origin, plus a path prefix if any). */
  base: string;
  room: string;
}

/** The base URL of Parley from a snippet's `src`, or `undefined` when it is not a badge script. */
export function baseOfScript(src: string): string | undefined {
  let url: URL;
  try {
    url = new URL(src, document.baseURI);
  } catch {
    return undefined;
  }
  if (!url.pathname.endsWith(SCRIPT_NAME)) return undefined;
  return `${url.origin}${url.pathname.slice(0, -SCRIPT_NAME.length)}`;
}

/**
 * Renders every badge snippet of the page: `<script src=".../badge.js"
 * data-room="…">`, each once, with one `BadgeFeed` (one observe loop) per
 * Parley deployment.
 */
export class BadgeRenderer {
  private readonly rendered = new WeakSet<HTMLScriptElement>();
  private readonly feeds = new Map<string, BadgeFeed>();

  /** Renders the snippets not rendered yet. */
  scan(): void {
    for (const script of document.querySelectorAll<HTMLScriptElement>('script[data-room]')) {
      if (this.rendered.has(script)) continue;
      const base = baseOfScript(script.src);
      if (base === undefined) continue;
      this.rendered.add(script);
      const room = script.dataset.room ?? '';
      if (!isRoomName(room)) {
        console.warn(`Parley badge: "${room}" is not a room name (a-z, 0-9, "_" and "-", at most 64)`);
        continue;
      }
      let feed = this.feeds.get(base);
      if (feed === undefined) {
        feed = new BadgeFeed(base);
        this.feeds.set(base, feed);
      }
      feed.add(room, createBadgeView(script, base, room));
    }
  }
}
