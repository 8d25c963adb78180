import type { ParleyApi } from '@parley/client';
import { isRoomName, type RoomSummary } from '@parley/protocol';
import { el, field, replaceChildren } from './dom.js';
import { nicknameForm } from './nickname-form.js';
import { ROOM_NAME_RULE, roomPath } from './room-name.js';

/** The rooms list is re-read this often while the page is visible: counts change, but nobody needs them to the second. */
const ROOMS_REFRESH_MS = 10_000;

/** What the home view needs from the page. */
export interface HomeHost {
  api: ParleyApi;
  signedIn(): boolean;
  /** Creates the session (the home view then draws itself again). */
  startSession(nickname: string): Promise<void>;
  /** Client-side navigation. */
  navigate(path: string): void;
}

/**
 * `/`: the nickname form when there is no session, the rooms with their live
 * occupant counts, and "Enter or create a room".
 */
export class HomeView {
  readonly element: HTMLElement;
  private readonly roomList: HTMLUListElement;
  private readonly roomStatus: HTMLParagraphElement;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'visible') void this.refresh();
  };

  constructor(private readonly host: HomeHost) {
    this.roomList = el('ul', { class: 'room-list' });
    this.roomStatus = el('p', { class: 'muted', role: 'status' }, 'Loading rooms…');
    const welcome = host.signedIn()
      ? undefined
      : nicknameForm({
          heading: 'Welcome to Parley',
          intro: 'Pick a nickname to start chatting. You can change it later.',
          submit: (nickname) => host.startSession(nickname),
        });
    this.element = el(
      'div',
      { class: 'home' },
      welcome,
      this.enterForm(),
      el('section', { class: 'card' }, el('h2', {}, 'Rooms'), this.roomStatus, this.roomList),
    );
  }

  /** Reads the rooms now and then every ten seconds while the page is visible. */
  start(): void {
    void this.refresh();
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, ROOMS_REFRESH_MS);
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  /** Stops refreshing (the view is no longer shown). */
  stop(): void {
    clearInterval(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  private enterForm(): HTMLElement {
    const room = field('Room', {
      name: 'room',
      required: true,
      maxlength: '64',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      placeholder: 'lobby',
    });
    const form = el(
      'form',
      { class: 'stack', novalidate: true },
      room.label,
      el('div', { class: 'row' }, room.input, el('button', { type: 'submit' }, 'Enter')),
      room.error,
      el('p', { class: 'muted small' }, 'Lowercase letters, digits, "-" and "_". A new name creates the room.'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = room.input.value.trim();
      if (!isRoomName(name)) {
        room.setError(name === '' ? 'Type a room name first.' : ROOM_NAME_RULE);
        room.input.focus();
        return;
      }
      room.setError(undefined);
      this.host.navigate(roomPath(name));
    });
    return el('section', { class: 'card' }, el('h2', {}, 'Enter or create a room'), form);
  }

  private async refresh(): Promise<void> {
    let rooms: RoomSummary[];
    try {
      rooms = await this.host.api.listRooms();
    } catch {
      this.roomStatus.textContent = 'Could not load the rooms; trying again shortly.';
      this.roomStatus.hidden = false;
      return;
    }
    this.roomStatus.textContent = rooms.length === 0 ? 'No rooms yet: create the first one.' : '';
    this.roomStatus.hidden = rooms.length > 0;
    replaceChildren(this.roomList, ...rooms.map((room) => this.roomItem(room)));
  }

  private roomItem(room: RoomSummary): HTMLLIElement {
    const link = el('a', { href: roomPath(room.name) }, `#${room.name}`);
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.host.navigate(roomPath(room.name));
    });
    const count = room.occupants === 1 ? '1 online' : `${room.occupants} online`;
    return el('li', { 'data-room': room.name }, link, el('span', { class: 'count' }, count));
  }
}
