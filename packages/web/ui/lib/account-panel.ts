import type { ParleyApi } from '@parley/client';
import { DM_ROOM_PREFIX } from '@parley/protocol';
import { el, field, replaceChildren, type Field } from './dom.js';
import { describe } from './room-view.js';

/** Who the page is: nobody yet, a guest, or an account. */
export type PageIdentity = { nickname: string; username: string | null } | undefined;

/** What the account panel needs from the page. */
export interface AccountHost {
  api: ParleyApi;
  /** Opens a room of this page (a new private room, a direct message). */
  openRoom(room: string): void;
  /** The room shown now, if any (its members can be managed). */
  currentRoom(): string | undefined;
}

/** The account controls of the top bar and the direct messages of the sidebar. */
export interface AccountPanel {
  element: HTMLElement;
  /** The direct messages list, for the sidebar. */
  directMessages: HTMLElement;
  set(identity: PageIdentity): void;
}

// Names of the other side of direct messages this browser opened: a DM room's name is a hash.
const DM_NAMES_KEY = 'parley-dm-names';

function dmNames(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(DM_NAMES_KEY) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

/** Remembers that `room` is the direct message with `username`. */
export function rememberDirectRoom(room: string, username: string): void {
  try {
    localStorage.setItem(DM_NAMES_KEY, JSON.stringify({ ...dmNames(), [room]: username }));
  } catch {
    // Private mode: the list then shows "Direct message".
  }
}

/** A labelled one-field (or more) form inside a `<details>`, keyboard-reachable, with its error line. */
function formPanel(
  summary: string,
  fields: Field[],
  buttons: Array<{ label: string; run: () => Promise<void> }>,
): HTMLDetailsElement {
  const status = el('p', { class: 'field-error', role: 'status', hidden: true });
  const actions = buttons.map(({ label, run }, index) => {
    const button = el('button', { type: index === 0 ? 'submit' : 'button' }, label);
    const act = () => {
      for (const each of actions) each.disabled = true;
      run().then(
        () => {
          status.hidden = true;
          for (const each of fields) each.setError(undefined);
        },
        (error: unknown) => {
          status.textContent = describe(error);
          status.hidden = false;
        },
      ).finally(() => {
        for (const each of actions) each.disabled = false;
      });
    };
    if (index > 0) button.addEventListener('click', act);
    return Object.assign(button, { act });
  });
  const form = el('form', { class: 'stack' }, ...fields.flatMap((each) => [each.label, each.input, each.error]), el('div', { class: 'row' }, ...actions), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    actions[0]?.act();
  });
  return el('details', { class: 'account-form' }, el('summary', {}, summary), form);
}

/**
 * Sign up and sign in (signing out is the top bar's `sign-out.ts`); for an account: a new private room, the
 * members of the room shown, a direct message. Every control is a labelled
 * form field or a button, reachable with the keyboard. Signing in or out
 * reloads the page: the session cookie changed, and every room with it.
 */
export function createAccountPanel(host: AccountHost): AccountPanel {
  const { api } = host;
  const element = el('section', { class: 'account', 'aria-label': 'Account' });
  const directList = el('ul', { class: 'dm-list' });
  const directMessages = el('nav', { class: 'dms', hidden: true }, el('h2', {}, 'Direct chats'), directList);

  function signForms(): HTMLElement[] {
    const upName = field('Username', { name: 'username', required: true, autocomplete: 'username', maxlength: '32' });
    const upPassword = field('Password (10 characters or more)', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: '10' });
    const inName = field('Username', { name: 'username', required: true, autocomplete: 'username', maxlength: '32' });
    const inPassword = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
    return [
      formPanel('Sign up', [upName, upPassword], [{ label: 'Create account', run: async () => {
        await api.signUp(upName.input.value.trim(), upPassword.input.value);
        location.reload();
      } }]),
      formPanel('Sign in', [inName, inPassword], [{ label: 'Sign in', run: async () => {
        await api.signIn(inName.input.value.trim(), inPassword.input.value);
        location.reload();
      } }]),
    ];
  }

  function accountForms(): HTMLElement[] {
    const roomName = field('Room name', { name: 'private-room', required: true, maxlength: '64', autocomplete: 'off' });
    const member = field('Username', { name: 'member', required: true, maxlength: '32', autocomplete: 'off' });
    const other = field('Username', { name: 'dm-username', required: true, maxlength: '32', autocomplete: 'off' });
    const room = () => {
      const current = host.currentRoom();
      if (current === undefined) throw new Error('Open one of your private rooms first.');
      return current;
    };
    return [
      formPanel('New private room', [roomName], [{ label: 'Create', run: async () => {
        const created = await api.createRoom(roomName.input.value.trim(), 'private');
        host.openRoom(created.name);
      } }]),
      formPanel('Members of this room', [member], [
        { label: 'Add member', run: async () => api.addMember(room(), member.input.value.trim()) },
        { label: 'Remove member', run: async () => api.removeMember(room(), member.input.value.trim()) },
      ]),
      formPanel('Message someone', [other], [{ label: 'Open direct message', run: async () => {
        await openDirect(other.input.value.trim());
      } }]),
    ];
  }

  async function openDirect(username: string): Promise<void> {
    const room = await api.directMessage(username);
    rememberDirectRoom(room.name, username);
    host.openRoom(room.name);
    await refreshDirectMessages();
  }

  async function refreshDirectMessages(): Promise<void> {
    const names = dmNames();
    const rooms = (await api.listRooms()).filter((room) => room.name.startsWith(DM_ROOM_PREFIX));
    directMessages.hidden = rooms.length === 0;
    replaceChildren(directList, ...rooms.map((room) => {
      const button = el('button', { type: 'button', class: 'link' }, names[room.name] ?? 'Direct message');
      button.addEventListener('click', () => host.openRoom(room.name));
      return el('li', {}, button);
    }));
  }

  // "Message" on a person (an account's name in a room) anywhere on the page.
  document.addEventListener('click', (event) => {
    const target = (event.target as Element | null)?.closest?.('button[data-dm-user]');
    const username = target?.getAttribute('data-dm-user');
    if (username === null || username === undefined) return;
    openDirect(username).catch((error: unknown) => console.warn('parley: direct message failed', describe(error)));
  });

  return {
    element,
    directMessages,
    set(identity) {
      if (identity === undefined || identity.username === null) {
        const mark = identity === undefined ? [] : [el('p', { class: 'muted' }, `${identity.nickname} (guest)`)];
        replaceChildren(element, ...mark, ...signForms());
        directMessages.hidden = true;
        return;
      }
      replaceChildren(
        element,
        el('p', { class: 'account-name' }, el('span', { class: 'account-mark', title: 'account' }, '✓'), ' ', identity.username),
        ...accountForms(),
      );
      refreshDirectMessages().catch(() => undefined);
    },
  };
}
