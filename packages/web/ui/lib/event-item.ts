import type { ChatEvent } from '@parley/protocol';
import { el } from './dom.js';
import { changeItem, deletedBody, editedMark, isChangeEvent } from './message-changes.js';

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

/** The line shown for an enter, leave or nick event (and what a screen reader may say for the others). */
export function noticeText(event: ChatEvent): string {
  switch (event.type) {
    case 'enter':
      return `${event.nickname} joined`;
    case 'leave':
      return `${event.nickname} left`;
    case 'nick':
      return `${event.from} is now known as ${event.nickname}`;
    case 'message':
      return 'text' in event ? event.text : 'message deleted';
    case 'edit':
      return `${event.nickname} edited a message`;
    case 'delete':
      return `${event.nickname} deleted a message`;
  }
}

/**
 * The list item of one stored event. It carries `data-seq` and `data-id`, by
 * which the room keeps it unique (and tests count it); every text is a text node.
 */
export function eventItem(event: ChatEvent): HTMLLIElement {
  const common = { 'data-seq': String(event.seq), 'data-id': event.id, 'data-at': String(event.at), 'data-nick': event.nickname };
  if (event.type === 'message') {
    const deleted = !('text' in event);
    return el(
      'li',
      { ...common, class: deleted ? 'event message deleted' : 'event message' },
      el(
        'div',
        { class: 'meta' },
        el('span', { class: `nick ${nickColourClass(event.nickname)}` }, event.nickname),
        ' ',
        timeElement(event.at),
      ),
      deleted ? deletedBody() : el('p', { class: 'text' }, event.text),
      !deleted && event.edited === true ? editedMark() : null,
    );
  }
  if (isChangeEvent(event)) return changeItem(event);
  return el('li', { ...common, class: `event notice notice-${event.type}` }, el('span', { class: 'notice-text' }, noticeText(event)), ' ', timeElement(event.at));
}

/** Marks `item` as continuing the message before it (same person, shortly after), or not. */
export function updateGrouping(item: Element | null): void {
  if (item === null || !item.classList.contains('message')) return;
  let previous = item.previousElementSibling;
  // Edits and deletions have hidden items of their own: look past them.
  while (previous !== null && previous.classList.contains('change')) previous = previous.previousElementSibling;
  const continued =
    previous !== null &&
    previous.classList.contains('message') &&
    previous.getAttribute('data-nick') === item.getAttribute('data-nick') &&
    Number(item.getAttribute('data-at')) - Number(previous.getAttribute('data-at')) < GROUP_WITHIN_MS;
  item.classList.toggle('continued', continued);
}
