import type { ChatEvent } from '@parley/protocol';
import { authorMark } from './author-mark.js';
import { el } from './dom.js';

// Messages of one person this close together read as one block (the name is shown once).
const GROUP_WITHIN_MS = 5 * 60_000;
const NICK_COLOURS = 8;

/** One of eight colour classes, stable per nickname, so a person is easy to follow in a busy room. */
export function nickColourClass(nickname: string): string {
  let hash = 0;
  for (let index = 0; index < nickname.length; index++) hash = (hash * 31 + nickname.charCodeAt(index)) | 0;
  return `nick-c${Math.abs(hash) % NICK_COLOURS}`;
}

/** `12:04`, in the reader's locale and time zone. */
export function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function timeElement(at: number): HTMLTimeElement {
  const date = new Date(at);
  return el('time', { datetime: date.toISOString(), title: date.toLocaleString() }, clockTime(at));
}

/** The line shown for an enter, leave or nick event. */
export function noticeText(event: ChatEvent): string {
  switch (event.type) {
    case 'enter':
      return `${event.nickname} joined`;
    case 'leave':
      return `${event.nickname} left`;
    case 'nick':
      return `${event.from} is now known as ${event.nickname}`;
    case 'kick':
      return `${event.nickname} removed ${event.target} from the room`;
    case 'message':
      return event.text;
  }
}

/**
 * The list item of one stored event. It carries `data-seq` and `data-id`, by
 * which the room keeps it unique (and tests count it); every text is a text node.
 */
export function eventItem(event: ChatEvent): HTMLLIElement {
  const common = { 'data-seq': String(event.seq), 'data-id': event.id, 'data-at': String(event.at), 'data-nick': event.nickname };
  if (event.type === 'message') {
    return el(
      'li',
      { ...common, class: 'event message' },
      el('div', { class: 'meta' }, el('span', { class: `nick ${nickColourClass(event.nickname)}` }, event.nickname), ' ', authorMark(event), ' ', timeElement(event.at)),
      el('p', { class: 'text' }, event.text),
    );
  }
  return el('li', { ...common, class: `event notice notice-${event.type}` }, el('span', { class: 'notice-text' }, noticeText(event)), ' ', timeElement(event.at));
}

/** Marks `item` as continuing the message before it (same person, shortly after), or not. */
export function updateGrouping(item: Element | null): void {
  if (item === null || !item.classList.contains('message')) return;
  const previous = item.previousElementSibling;
  const continued =
    previous !== null &&
    previous.classList.contains('message') &&
    previous.getAttribute('data-nick') === item.getAttribute('data-nick') &&
    Number(item.getAttribute('data-at')) - Number(previous.getAttribute('data-at')) < GROUP_WITHIN_MS;
  item.classList.toggle('continued', continued);
}
