import type { ChatEvent } from '@parley/protocol';
import { el, replaceChildren, uniqueId } from './dom.js';
import { clockTime } from './event-item.js';

/** Results asked for per search. */
const SEARCH_RESULTS = 20;

/** The search box of a room and its results. */
export interface SearchPanel {
  element: HTMLElement;
}

/** What a search panel needs from its room. */
export interface SearchHost {
  /** The room's messages holding every word of `q`, newest first. */
  search(q: string, limit: number): Promise<ChatEvent[]>;
  /** Shows the message at `seq` in its place in the room's history. */
  jumpTo(seq: number): Promise<void>;
  /** A person-readable reason of a failed request. */
  describe(error: unknown): string;
}

/**
 * A search form (a `search` landmark labelled "Search #room") whose results
 * list each message with its author and time; choosing one shows it in
 * context, highlighted, and closes the list.
 */
export function createSearchPanel(room: string, host: SearchHost): SearchPanel {
  const id = uniqueId('search');
  const input = el('input', { id, type: 'search', name: 'q', placeholder: 'Search', autocomplete: 'off', maxlength: '200' });
  const status = el('p', { class: 'search-status', role: 'status' });
  const results = el('ol', { class: 'search-results', 'aria-label': `Search results in #${room}` });
  const form = el(
    'form',
    { class: 'search-form', role: 'search' },
    el('label', { for: id, class: 'visually-hidden' }, `Search #${room}`),
    input,
    el('button', { type: 'submit', class: 'secondary' }, 'Search'),
  );
  const element = el('div', { class: 'search-panel' }, form, status, results);
  const close = (): void => {
    replaceChildren(results);
    status.textContent = '';
  };
  let asked = 0;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q === '') {
      close();
      return;
    }
    const ask = ++asked;
    status.textContent = 'Searching…';
    host.search(q, SEARCH_RESULTS).then(
      (found) => {
        if (ask !== asked) return;
        status.textContent = found.length === 0 ? 'No messages found.' : `${found.length === SEARCH_RESULTS ? 'Latest ' : ''}${found.length} found`;
        replaceChildren(results, ...found.map((event) => resultItem(event, () => {
          close();
          void host.jumpTo(event.seq);
        })));
      },
      (error: unknown) => {
        if (ask === asked) status.textContent = `Search failed: ${host.describe(error)}`;
      },
    );
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  return { element };
}

function resultItem(event: ChatEvent, choose: () => void): HTMLLIElement {
  const text = 'text' in event ? event.text : '';
  const button = el(
    'button',
    { type: 'button', class: 'search-result', 'data-seq': String(event.seq) },
    el('span', { class: 'nick' }, event.nickname),
    ' ',
    el('time', { datetime: new Date(event.at).toISOString() }, clockTime(event.at)),
    ' ',
    el('span', { class: 'search-text' }, text),
  );
  button.addEventListener('click', choose);
  return el('li', {}, button);
}
