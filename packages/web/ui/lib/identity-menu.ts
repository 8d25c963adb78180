import { el, field } from './dom.js';

/** The signed-in person's name in the top bar, opening a small form to change it. */
export interface IdentityMenu {
  element: HTMLDetailsElement;
  /** Shows the current nickname (`undefined`: not signed in, the menu hides). */
  set(nickname: string | undefined): void;
}

/**
 * A `<details>` whose summary is the nickname and whose form changes it
 * (`POST /api/nick`: a `nick` event in every room of the session). The field
 * is labelled "Change name to", so the page has one field named "Nickname".
 */
export function createIdentityMenu(change: (nickname: string) => Promise<void>): IdentityMenu {
  const name = el('span', { class: 'me-name' });
  const summary = el('summary', {}, el('span', { class: 'muted' }, 'Signed in as '), name);
  const input = field('Change name to', { name: 'new-nickname', required: true, maxlength: '32', autocomplete: 'off' });
  const button = el('button', { type: 'submit' }, 'Change');
  const form = el('form', { class: 'stack' }, input.label, el('div', { class: 'row' }, input.input, button), input.error);
  const element = el('details', { class: 'me', hidden: true }, summary, form);
  // 'toggle' fires after the opening click, when typing may have begun: only
  // select the current name, never overwrite what is in the field.
  element.addEventListener('toggle', () => {
    if (element.open && input.input.value === name.textContent) input.input.select();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.input.value.trim();
    if (value === '') {
      input.setError('Choose a nickname first.');
      return;
    }
    button.disabled = true;
    change(value).then(
      () => {
        input.setError(undefined);
        element.open = false;
      },
      (error: unknown) => input.setError(error instanceof Error ? error.message : String(error)),
    ).finally(() => {
      button.disabled = false;
    });
  });
  return {
    element,
    set(nickname) {
      element.hidden = nickname === undefined;
      name.textContent = nickname ?? '';
      input.input.value = nickname ?? '';
    },
  };
}
