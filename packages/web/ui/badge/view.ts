import { BADGE_CSS } from './styles.js';

/** Characters of the latest message shown before it is cut with "…" (CSS ellipsis trims further). */
export const LATEST_MESSAGE_CHARS = 80;

/** One rendered badge: what the feed updates. */
export interface BadgeView {
  /** Shows `count` people online (`undefined`: not known yet). */
  setCount(count: number | undefined): void;
  /** Shows the latest message as "nickname: text". */
  setLatest(nickname: string, text: string): void;
  /** Connection state of the shared observe loop, as a `data-state` attribute. */
  setState(state: string): void;
}

/** `text` cut to `limit` characters (whole code points, so no broken surrogate pair) plus "…". */
export function truncate(text: string, limit = LATEST_MESSAGE_CHARS): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.className = className;
  if (text !== undefined) created.textContent = text;
  return created;
}

/**
 * Inserts a badge right after `anchor` (the snippet's <script>): a
 * `<parley-badge>` host with an open shadow root holding its own styles and
 * the room name, occupant count, latest message and a Join link to
 * `base/rooms/room`. Every text is set with `textContent`.
 */
export function createBadgeView(anchor: Element, base: string, room: string): BadgeView {
  const host = document.createElement('parley-badge');
  host.setAttribute('data-room', room);
  const shadow = host.attachShadow({ mode: 'open' });

  const style = document.createElement('style');
  style.textContent = BADGE_CSS;
  const card = element('div', 'badge');
  card.setAttribute('role', 'group');
  card.setAttribute('aria-label', `Parley room ${room}`);
  const head = element('div', 'head');
  const dot = element('span', 'dot');
  dot.setAttribute('aria-hidden', 'true');
  const count = element('span', 'count', '… online');
  count.setAttribute('aria-live', 'polite');
  head.append(dot, element('span', 'room', room), element('span', 'sep', '·'), count);
  const latest = element('div', 'latest');
  const join = element('a', 'join', 'Join');
  join.href = `${base}/rooms/${encodeURIComponent(room)}`;
  join.target = '_blank';
  join.rel = 'noopener';
  join.setAttribute('aria-label', `Join ${room} on Parley`);
  card.append(head, join, latest);
  shadow.append(style, card);
  anchor.after(host);

  return {
    setCount(people) {
      count.textContent = people === undefined ? '… online' : `${people} online`;
      card.toggleAttribute('data-active', people !== undefined && people > 0);
    },
    setLatest(nickname, text) {
      latest.replaceChildren(element('span', 'nick', nickname), document.createTextNode(`: ${truncate(text)}`));
    },
    setState(state) {
      card.setAttribute('data-state', state);
    },
  };
}
