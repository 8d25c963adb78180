import type { ChatEvent, DeleteEvent, EditEvent } from '@parley/protocol';
import { el, replaceChildren } from './dom.js';
import { renderMessageText } from './message-text.js';

/** What a deleted message shows instead of its text. */
export const DELETED_LABEL = 'message deleted';
// The API's limit on message text.
const MAX_TEXT_LENGTH = 2000;

/** An edit or a delete: it changes an earlier message instead of showing a line of its own. */
export type ChangeEvent = EditEvent | DeleteEvent;

export function isChangeEvent(event: ChatEvent): event is ChangeEvent {
  return event.type === 'edit' || event.type === 'delete';
}

/** The text of each shown message as typed (its rendering drops the formatting marks). */
const typedTexts = new WeakMap<Element, string>();

/** Remembers what `item`'s message says as typed, for editing it. */
export function rememberText(item: Element, text: string): void {
  typedTexts.set(item, text);
}

/** The paragraph of a deleted message. */
export function deletedBody(): HTMLParagraphElement {
  return el('p', { class: 'text deleted' }, DELETED_LABEL);
}

/** The "(edited)" mark under a message's text. */
export function editedMark(): HTMLSpanElement {
  return el('span', { class: 'edited', title: 'This message was edited' }, '(edited)');
}

/**
 * The list item of an edit or delete: kept (hidden) so that the room has one
 * item per seq, as for every other event; what it does is shown on its target.
 */
export function changeItem(event: ChangeEvent): HTMLLIElement {
  return el('li', {
    class: `event change change-${event.type}`,
    hidden: true,
    'data-seq': String(event.seq),
    'data-id': event.id,
    'data-at': String(event.at),
    'data-nick': event.nickname,
    'data-target': String(event.target),
  });
}

/** Shows an edit or delete on the list item of the message it targets, as `reader` sees it. */
export function applyChange(item: HTMLLIElement, event: ChangeEvent, reader: string | undefined): void {
  if (item.classList.contains('deleted')) return;
  if (event.type === 'delete' || !('text' in event)) {
    showDeleted(item);
    return;
  }
  const body = item.querySelector(':scope > .text');
  if (body !== null) {
    const { element, mentionsMe } = renderMessageText(event.text, reader);
    element.hidden = body.hasAttribute('hidden');
    body.replaceWith(element);
    item.classList.toggle('mentions-me', mentionsMe);
    // A "Show more" of the old text would fold the new one: the edit shows whole.
    item.querySelector(':scope > .fold')?.remove();
  }
  rememberText(item, event.text);
  // Beside the text, not in the meta line: a message continuing its author's block hides that line.
  if (item.querySelector('.edited') === null) item.append(editedMark());
}

/** Shows the list item of a message as deleted: no text, no controls. */
export function showDeleted(item: HTMLLIElement): void {
  if (item.classList.contains('deleted')) return;
  item.classList.add('deleted');
  item.querySelector('.message-actions')?.remove();
  item.querySelector('.edited')?.remove();
  item.querySelector('.edit-form')?.remove();
  item.querySelector(':scope > .fold')?.remove();
  const body = item.querySelector(':scope > .text');
  const deleted = deletedBody();
  if (body === null) item.append(deleted);
  else body.replaceWith(deleted);
}

/** What the Edit and Delete controls of one's own messages do. */
export interface MessageActionHandlers {
  /** Saves a new text; rejects with a person-readable reason. */
  edit(seq: number, text: string): Promise<void>;
  /** Deletes; rejects with a person-readable reason. */
  remove(seq: number): Promise<void>;
  /** Shows a failure to the person. */
  failed(reason: string): void;
}

/** Adds Edit and Delete to the list item of a message of one's own (once). */
export function attachMessageActions(item: HTMLLIElement, handlers: MessageActionHandlers): void {
  if (item.classList.contains('deleted') || item.querySelector('.message-actions') !== null) return;
  const seq = Number(item.getAttribute('data-seq'));
  const editButton = el('button', { type: 'button', class: 'link-button edit' }, 'Edit');
  const deleteButton = el('button', { type: 'button', class: 'link-button delete' }, 'Delete');
  const actions = el('span', { class: 'message-actions' }, editButton, deleteButton);
  editButton.addEventListener('click', () => startEditing(item, handlers));
  deleteButton.addEventListener('click', () => {
    // Asked in place: a second, explicit click deletes.
    const confirm = el('button', { type: 'button', class: 'link-button danger confirm-delete' }, 'Delete for everyone');
    const cancel = el('button', { type: 'button', class: 'link-button' }, 'Keep');
    const restore = (): void => replaceChildren(actions, editButton, deleteButton);
    cancel.addEventListener('click', restore);
    confirm.addEventListener('click', () => {
      confirm.disabled = true;
      handlers.remove(seq).catch((reason: unknown) => {
        restore();
        handlers.failed(String(reason));
      });
    });
    replaceChildren(actions, el('span', { class: 'confirm-text' }, 'Delete this message?'), ' ', confirm, ' ', cancel);
    confirm.focus();
  });
  item.append(actions);
}

/**
 * Turns a message of one's own into a text box holding its text: Enter (or
 * Save) saves, Shift+Enter starts a new line, Escape (or Cancel) gives up.
 * Does nothing for a deleted message or one being edited already.
 */
export function startEditing(item: HTMLLIElement, handlers: MessageActionHandlers): void {
  const body = item.querySelector<HTMLElement>(':scope > .text');
  if (item.classList.contains('deleted') || body === null || item.querySelector('.edit-form') !== null) return;
  const seq = Number(item.getAttribute('data-seq'));
  const original = typedTexts.get(item) ?? body.textContent ?? '';
  const textarea = el('textarea', { class: 'edit-text', 'aria-label': 'Edit message', maxlength: String(MAX_TEXT_LENGTH), rows: '2' });
  textarea.value = original;
  const save = el('button', { type: 'submit' }, 'Save');
  const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = el('form', { class: 'edit-form' }, textarea, el('span', { class: 'edit-buttons' }, save, ' ', cancel));
  const finish = (): void => {
    form.remove();
    // The edit may have replaced the text element meanwhile.
    const shown = item.querySelector<HTMLElement>(':scope > .text');
    if (shown !== null) shown.hidden = false;
  };
  const submit = (): void => {
    const text = textarea.value;
    if (text.trim() === '' || text === original) {
      finish();
      return;
    }
    save.disabled = true;
    handlers.edit(seq, text).then(finish, (reason: unknown) => {
      save.disabled = false;
      handlers.failed(String(reason));
    });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  cancel.addEventListener('click', finish);
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      finish();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  body.hidden = true;
  body.after(form);
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
}

/**
 * Up arrow in an empty message box edits one's last message (`lastOwn`
 * finds its list item), as in Slack and Discord.
 */
export function editLastOnArrowUp(
  textarea: HTMLTextAreaElement,
  lastOwn: () => HTMLLIElement | undefined,
  handlers: MessageActionHandlers,
): void {
  textarea.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowUp' || textarea.value !== '' || event.isComposing) return;
    const item = lastOwn();
    if (item === undefined) return;
    event.preventDefault();
    startEditing(item, handlers);
  });
}
