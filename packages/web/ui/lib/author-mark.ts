import type { ChatEvent } from '@parley/protocol';
import { el } from './dom.js';

/**
 * What stands beside a name in a room: "guest" for a guest, a mark and the
 * username for an account (so a guest never passes as a member), "bot" for a
 * bot token, and a "Message" button that opens a direct message with the account.
 */
export function authorMark(event: ChatEvent): HTMLElement {
  if (event.user === null) return el('span', { class: 'author-mark guest' }, 'guest');
  const mark = el('span', { class: 'author-mark account', title: `account ${event.user}` }, event.bot === true ? `bot of @${event.user}` : `@${event.user}`);
  const message = el('button', { type: 'button', class: 'link dm-button', 'data-dm-user': event.user, 'aria-label': `Chat privately with ${event.user}` }, 'Message');
  return el('span', { class: 'author' }, mark, ' ', message);
}
