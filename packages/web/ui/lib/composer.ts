import { el, uniqueId } from './dom.js';

// The API's limit on message text.
const MAX_TEXT_LENGTH = 2000;

/** The message box of a room. */
export interface Composer {
  element: HTMLFormElement;
  textarea: HTMLTextAreaElement;
  focus(): void;
}

/**
 * A form with a `<textarea>` labelled **Message**: Enter sends, Shift+Enter
 * starts a new line (and Enter while an input method is composing does
 * neither, so CJK input works). Blank text is not sent.
 */
export function createComposer(onSend: (text: string) => void): Composer {
  const id = uniqueId('message');
  const hintId = `${id}-hint`;
  const textarea = el('textarea', {
    id,
    name: 'message',
    rows: '1',
    maxlength: String(MAX_TEXT_LENGTH),
    placeholder: 'Write a message',
    'aria-describedby': hintId,
    autocomplete: 'off',
  });
  const element = el(
    'form',
    { class: 'composer' },
    el('label', { for: id, class: 'visually-hidden' }, 'Message'),
    textarea,
    el('button', { type: 'submit' }, 'Send'),
    el('p', { id: hintId, class: 'visually-hidden' }, 'Enter sends, Shift+Enter starts a new line.'),
  );
  const send = (): void => {
    const text = textarea.value;
    if (text.trim() === '') return;
    textarea.value = '';
    fitHeight(textarea);
    onSend(text);
  };
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
    textarea.focus();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    send();
  });
  textarea.addEventListener('input', () => fitHeight(textarea));
  return { element, textarea, focus: () => textarea.focus() };
}

// Grow with the text up to about six lines, then scroll (CSS caps it with max-height).
function fitHeight(textarea: HTMLTextAreaElement): void {
  textarea.rows = Math.min(6, Math.max(1, textarea.value.split('\n').length));
}
