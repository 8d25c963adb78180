import { el, replaceChildren } from './dom.js';
import { roomPath } from './room-name.js';

/**
 * The rooms this session is in, as a sidebar (a tab strip on narrow screens):
 * the shown room is marked `aria-current=page`, others show their unread
 * count. Links are real links; a plain click switches rooms without a reload.
 */
export class RoomTabs {
  readonly element: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly rooms: string[] = [];
  private readonly unread = new Map<string, number>();
  private current: string | undefined;

  constructor(private readonly navigate: (path: string) => void) {
    this.list = el('ul', { class: 'tab-list' });
    const home = el('a', { href: '/', class: 'all-rooms' }, 'All rooms');
    this.follow(home, '/');
    this.element = el('nav', { class: 'tabs', 'aria-label': 'Your rooms' }, el('h2', { class: 'tabs-heading' }, 'Your rooms'), this.list, home);
  }

  /** The rooms of the session, in the order they were joined. */
  get names(): readonly string[] {
    return this.rooms;
  }

  add(room: string): void {
    if (this.rooms.includes(room)) return;
    this.rooms.push(room);
    this.draw();
  }

  remove(room: string): void {
    const index = this.rooms.indexOf(room);
    if (index < 0) return;
    this.rooms.splice(index, 1);
    this.unread.delete(room);
    this.draw();
  }

  /** Marks the shown room (`undefined` on the home page). */
  select(room: string | undefined): void {
    this.current = room;
    this.draw();
  }

  setUnread(room: string, count: number): void {
    this.unread.set(room, count);
    this.draw();
  }

  private draw(): void {
    this.element.hidden = this.rooms.length === 0;
    replaceChildren(
      this.list,
      ...this.rooms.map((room) => {
        const count = this.unread.get(room) ?? 0;
        const link = el(
          'a',
          { href: roomPath(room), 'aria-current': room === this.current ? 'page' : undefined },
          el('span', { class: 'tab-name' }, `#${room}`),
          count > 0 ? el('span', { class: 'unread', 'aria-label': `${count} unread` }, String(count)) : undefined,
        );
        this.follow(link, roomPath(room));
        return el('li', {}, link);
      }),
    );
  }

  private follow(link: HTMLAnchorElement, path: string): void {
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.navigate(path);
    });
  }
}
