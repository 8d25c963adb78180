import type { ChatEvent } from '@parley/protocol';
import { authorMark } from './author-mark.js';
import { el } from './dom.js';
import { changeItem, deletedBody, editedMark, isChangeEvent, rememberText } from './message-changes.js';
import { renderMessageText } from './message-text.js';

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
    case 'kick':
      return `${event.nickname} removed ${event.target} from the room`;
    case 'message':
      return 'text' in event ? event.text : 'message deleted';
    case 'edit':
      return `${event.nickname} edited a message`;
    case 'delete':
      return `${event.nickname} deleted a message`;
  }
}

/** `Today`, `Yesterday` or the date (`Friday, 4 December 2026`), in the reader's locale and time zone. */
export function dayLabel(at: number, now = Date.now()): string {
  const day = dayKey(at);
  if (day === dayKey(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (day === dayKey(yesterday.getTime())) return 'Yesterday';
  return new Date(at).toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** The reader's local calendar day of `at`, as `YYYY-M-D`. */
function dayKey(at: number): string {
  const date = new Date(at);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/**
 * Which messages fold behind "Show more": a paste of a log or a long essay
 * would otherwise push a whole screen of conversation away.
 */
const FOLD_OVER_LINES = 12;
const FOLD_OVER_CHARACTERS = 900;

function isLong(text: string): boolean {
  return text.length > FOLD_OVER_CHARACTERS || text.split('\n').length > FOLD_OVER_LINES;
}

/** A "Show more" button that unfolds `text` (and folds it again). */
function foldButton(text: HTMLElement): HTMLButtonElement {
  text.classList.add('folded');
  const button = el('button', { type: 'button', class: 'fold', 'aria-expanded': 'false' }, 'Show more');
  button.addEventListener('click', () => {
    const folded = text.classList.toggle('folded');
    button.textContent = folded ? 'Show more' : 'Show less';
    button.setAttribute('aria-expanded', String(!folded));
  });
  return button;
}

/**
 * The list item of one stored event, as `reader` sees it (their mentions are
 * marked). It carries `data-seq` and `data-id`, by which the room keeps it
 * unique (and tests count it); every text is a text node. Its day separator
 * is shown by `updateGrouping` when the item starts a day.
 */
export function eventItem(event: ChatEvent, reader: string | undefined): HTMLLIElement {
  const common = { 'data-seq': String(event.seq), 'data-id': event.id, 'data-at': String(event.at), 'data-nick': event.nickname };
  const separator = el('div', { class: 'day-separator', role: 'separator', hidden: true }, el('span', {}, dayLabel(event.at)));
  const meta = (): HTMLDivElement =>
    el('div', { class: 'meta' }, el('span', { class: `nick ${nickColourClass(event.nickname)}`, dir: 'auto' }, event.nickname), ' ', authorMark(event), ' ', timeElement(event.at));
  if (event.type === 'message' && !('text' in event)) {
    return el('li', { ...common, class: 'event message deleted' }, separator, meta(), deletedBody());
  }
  if (event.type === 'message') {
    const { element: text, mentionsMe } = renderMessageText(event.text, reader);
    const item = el(
      'li',
      { ...common, class: mentionsMe ? 'event message mentions-me' : 'event message' },
      separator,
      meta(),
      text,
      isLong(event.text) ? foldButton(text) : undefined,
      event.edited === true ? editedMark() : undefined,
    );
    rememberText(item, event.text);
    return item;
  }
  if (isChangeEvent(event)) return changeItem(event);
  return el(
    'li',
    { ...common, class: `event notice notice-${event.type}` },
    separator,
    el('span', { class: 'notice-text', dir: 'auto' }, noticeText(event)),
    ' ',
    timeElement(event.at),
  );
}

/**
 * Shows `item`'s day separator when it starts a day, and marks a message as
 * continuing the one before it (same person, same day, shortly after), or not.
 */
export function updateGrouping(item: Element | null): void {
  if (item === null || !item.classList.contains('event') || item.classList.contains('change')) return;
  let previous = item.previousElementSibling;
  // Edits and deletions have hidden items of their own: look past them.
  while (previous !== null && previous.classList.contains('change')) previous = previous.previousElementSibling;
  const at = Number(item.getAttribute('data-at'));
  const newDay = previous === null || dayKey(Number(previous.getAttribute('data-at'))) !== dayKey(at);
  const separator = item.querySelector(':scope > .day-separator');
  if (separator instanceof HTMLElement) separator.hidden = !newDay;
  if (!item.classList.contains('message')) return;
  const continued =
    !newDay &&
    previous !== null &&
    previous.classList.contains('message') &&
    previous.getAttribute('data-nick') === item.getAttribute('data-nick') &&
    at - Number(previous.getAttribute('data-at')) < GROUP_WITHIN_MS;
  item.classList.toggle('continued', continued);
}
