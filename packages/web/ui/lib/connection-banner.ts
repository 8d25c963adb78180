import type { ConnectionState } from '@parley/client';
import { el } from './dom.js';

const TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Connected',
  reconnecting: 'Connection lost. Reconnecting…',
  offline: 'You are offline. Messages will arrive when the connection is back.',
};

/** The live connection's state for people (`role=status`, polite): hidden while live. */
export interface ConnectionBanner {
  element: HTMLDivElement;
  set(state: ConnectionState | undefined): void;
}

/** Creates the banner; `undefined` (nothing observed yet) hides it like `live`. */
export function createConnectionBanner(): ConnectionBanner {
  const element = el('div', { class: 'connection', role: 'status', 'aria-live': 'polite', hidden: true });
  return {
    element,
    set(state) {
      const shown = state !== undefined && state !== 'live';
      element.hidden = !shown;
      element.dataset.state = state ?? 'idle';
      // An empty live region announces nothing; the hidden text stays current for tests and tools.
      element.textContent = state === undefined ? '' : TEXT[state];
    },
  };
}
