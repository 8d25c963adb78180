import { el, field } from './dom.js';

/** Options of `nicknameForm`. */
export interface NicknameFormOptions {
  /** The heading above the form. */
  heading: string;
  /** A line under the heading. */
  intro: string;
  /** Creates the session; rejects with a message a person can read. */
  submit(nickname: string): Promise<void>;
}

// The API's rule: 1 to 32 characters.
const MAX_NICKNAME_LENGTH = 32;

/**
 * "Who are you?": an input labelled exactly **Nickname** and the button
 * "Start chatting". The server has the last word on what a nickname may be;
 * its refusal is shown under the field.
 */
export function nicknameForm(options: NicknameFormOptions): HTMLElement {
  const nickname = field('Nickname', {
    name: 'nickname',
    required: true,
    maxlength: String(MAX_NICKNAME_LENGTH),
    autocomplete: 'nickname',
    autocapitalize: 'off',
    spellcheck: 'false',
  });
  const button = el('button', { type: 'submit' }, 'Start chatting');
  const form = el('form', { class: 'nickname-form stack' }, nickname.label, el('div', { class: 'row' }, nickname.input, button), nickname.error);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = nickname.input.value.trim();
    if (value === '') {
      nickname.setError('Choose a nickname first.');
      nickname.input.focus();
      return;
    }
    nickname.setError(undefined);
    button.disabled = true;
    options.submit(value).then(
      () => undefined,
      (error: unknown) => {
        button.disabled = false;
        nickname.setError(error instanceof Error ? error.message : String(error));
        nickname.input.focus();
      },
    );
  });
  queueMicrotask(() => nickname.input.focus());
  return el('section', { class: 'card welcome' }, el('h2', {}, options.heading), el('p', { class: 'muted' }, options.intro), form);
}
