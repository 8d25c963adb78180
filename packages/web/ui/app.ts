// The chat page of `/` and `/rooms/:room` (served as /assets/app.js). One
// session (the HttpOnly cookie: "signed in" means GET /api/session answers
// 200), one SharedObserve for every room the session is in, client-side
// switching between rooms. Every text reaches the DOM as a text node.
import { createApi, fetchTransport, ParleyError, SharedObserve, streamTransport } from '@parley/client';
import type { ChatEvent } from '@parley/protocol';
import { createConnectionBanner } from './lib/connection-banner.js';
import { DesktopNotifications } from './lib/desktop-notifications.js';
import { append, el, replaceChildren } from './lib/dom.js';
import { HomeView } from './lib/home-view.js';
import { createIdentityMenu } from './lib/identity-menu.js';
import { createAccountPanel } from './lib/account-panel.js';
import { forgetAll, inOpenedOrder, loadUnread, saveRoomOrder, saveUnread } from './lib/local-memory.js';
import { nicknameForm } from './lib/nickname-form.js';
import { PageTitle } from './lib/page-title.js';
import { roomOfPath, roomPath } from './lib/room-name.js';
import { RoomTabs } from './lib/room-tabs.js';
import { RoomView, describe, type ArrivedMessage } from './lib/room-view.js';
import { createSignOut } from './lib/sign-out.js';

/** Direct-message rooms (`POST /api/dm`) are named `dm-…`; every message in one is for the reader. */
const DIRECT_ROOM_PREFIX = 'dm-';

class ChatPage {
  private readonly api = createApi({ credentials: { kind: 'cookie' } });
  private nickname: string | undefined;
  /** The signed-in account (`null`: a guest), to notice our own removal from a private room. */
  private username: string | null = null;
  private readonly views = new Map<string, RoomView>();
  private observe: SharedObserve | undefined;
  private home: HomeView | undefined;
  private readonly tabs = new RoomTabs((path) => this.navigate(path));
  private readonly banner = createConnectionBanner();
  private readonly identity = createIdentityMenu((nickname) => this.changeNickname(nickname));
  private readonly signOut = createSignOut(() => this.signOutNow());
  private readonly notifications = new DesktopNotifications((room) => this.navigate(roomPath(room)));
  private readonly title = new PageTitle();
  /** Unread messages per room, kept in localStorage so a reload shows them too. */
  private readonly unread = loadUnread();
  private readonly main = el('main', { id: 'main', class: 'main', tabindex: '-1' });
  private readonly account = createAccountPanel({
    api: this.api,
    openRoom: (room) => this.navigate(roomPath(room)),
    currentRoom: () => roomOfPath(location.pathname),
  });

  constructor(private readonly root: HTMLElement) {}

  async start(): Promise<void> {
    const brand = el('a', { href: '/', class: 'brand' }, 'Parley');
    brand.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.navigate('/');
    });
    replaceChildren(
      this.root,
      el('header', { class: 'topbar' }, brand, el('div', { class: 'topbar-end' }, this.notifications.element, this.identity.element, this.signOut.element)),
      this.account.element,
      this.banner.element,
      el('div', { class: 'layout' }, el('div', { class: 'sidebar' }, this.tabs.element, this.account.directMessages), this.main),
    );
    this.tabs.select(undefined);
    try {
      const session = await this.api.getSession();
      this.setNickname(session.nickname);
      this.username = session.username;
      this.account.set({ nickname: session.nickname, username: session.username });
      for (const room of inOpenedOrder(session.rooms)) this.openRoom(room);
    } catch (error) {
      // 401 is "not signed in"; anything else also means we cannot act as anyone yet.
      if (!(error instanceof ParleyError && error.status === 401)) console.warn('parley: session check failed', error);
      this.setNickname(undefined);
      this.account.set(undefined);
    }
    window.addEventListener('popstate', () => this.route());
    window.addEventListener('online', () => this.connectionBack());
    this.route();
  }

  /** Client-side navigation: a new history entry, no reload. */
  private navigate(path: string): void {
    if (path !== location.pathname) history.pushState(null, '', path);
    this.route();
  }

  private route(): void {
    const room = roomOfPath(location.pathname);
    if (room === undefined) this.showHome();
    else this.showRoom(room);
  }

  private showHome(): void {
    this.home?.stop();
    for (const view of this.views.values()) view.setVisible(false);
    this.home = new HomeView({
      api: this.api,
      signedIn: () => this.nickname !== undefined,
      startSession: (nickname) => this.startSession(nickname),
      navigate: (path) => this.navigate(path),
    });
    this.show(this.home.element, 'Parley');
    this.tabs.select(undefined);
    this.home.start();
  }

  private showRoom(room: string): void {
    this.home?.stop();
    this.home = undefined;
    for (const view of this.views.values()) view.setVisible(false);
    if (this.nickname === undefined) {
      this.tabs.select(undefined);
      this.show(
        nicknameForm({
          heading: `Join #${room}`,
          intro: 'Pick a nickname first. You can change it later.',
          submit: (nickname) => this.startSession(nickname),
        }),
        `#${room} · Parley`,
      );
      return;
    }
    const view = this.openRoom(room);
    this.show(view.element, `#${room} · Parley`);
    this.tabs.select(room);
    view.setVisible(true);
    view.enter().catch((error: unknown) => {
      if (error instanceof ParleyError && error.status === 401) this.signedOut();
    });
  }

  private show(content: HTMLElement, title: string): void {
    replaceChildren(this.main, content);
    this.title.set(title);
  }

  /** The view of a room of this session (created, listed and kept live on first use). */
  private openRoom(room: string): RoomView {
    let view = this.views.get(room);
    if (view !== undefined) return view;
    view = new RoomView(room, {
      api: this.api,
      nickname: () => this.nickname,
      watch: (name, afterSeq) => this.shared().watch(name, afterSeq),
      unreadChanged: (name, unread) => this.unreadChanged(name, unread),
      messagesArrived: (name, messages) => this.messagesArrived(name, messages),
      left: (name) => this.left(name),
    });
    this.views.set(room, view);
    this.tabs.add(room);
    saveRoomOrder(this.tabs.names);
    view.restoreUnread(this.unread.get(room) ?? 0);
    // Live from now until the view enters and pins the cursor to what it has shown.
    this.shared().watch(room);
    return view;
  }

  /** The one observe connection of this page (shared with the origin's other tabs). */
  private shared(): SharedObserve {
    if (this.observe === undefined) {
      this.banner.set('connecting');
      this.observe = new SharedObserve({
        // One EventSource stream where the browser has one and nothing on the way buffers it; else long-poll.
        transport: streamTransport({ fallback: fetchTransport() }),
        api: this.api,
        onEvents: (events) => this.dispatch(events),
        onState: (state) => {
          this.banner.set(state);
          if (state === 'live') this.connectionBack();
        },
      });
    }
    return this.observe;
  }

  private dispatch(events: ChatEvent[]): void {
    const byRoom = new Map<string, ChatEvent[]>();
    for (const event of events) byRoom.set(event.room, [...(byRoom.get(event.room) ?? []), event]);
    for (const [room, roomEvents] of byRoom) {
      this.views.get(room)?.receive(roomEvents);
      // Removed from a private room by its owner: it is gone for us (the server no longer serves it).
      if (this.username !== null && roomEvents.some((event) => event.type === 'kick' && event.target === this.username)) this.left(room);
    }
  }

  /** The observe answers again (or the browser is back online): queued messages go now. */
  private connectionBack(): void {
    for (const view of this.views.values()) view.connectionBack();
  }

  private unreadChanged(room: string, unread: number): void {
    this.tabs.setUnread(room, unread);
    this.unread.set(room, unread);
    saveUnread(this.unread);
  }

  /** Counts others' new messages in the title of a hidden tab, and notifies of mentions and DMs. */
  private messagesArrived(room: string, messages: ArrivedMessage[]): void {
    this.title.arrived(messages.length);
    const shown = roomOfPath(location.pathname) === room;
    const direct = room.startsWith(DIRECT_ROOM_PREFIX);
    for (const message of messages) {
      if (!direct && !message.mentionsMe) continue;
      this.notifications.notify({ room, ...message, kind: direct ? 'direct' : 'mention' }, shown);
    }
  }

  private async startSession(nickname: string): Promise<void> {
    try {
      const session = await this.api.createSession(nickname);
      this.setNickname(session.nickname);
      this.account.set({ nickname: session.nickname, username: null });
    } catch (error) {
      throw new Error(describe(error), { cause: error });
    }
    this.route();
  }

  private async changeNickname(nickname: string): Promise<void> {
    try {
      const answer = await this.api.changeNickname(nickname);
      this.setNickname(answer.nickname);
    } catch (error) {
      throw new Error(describe(error), { cause: error });
    }
  }

  private setNickname(nickname: string | undefined): void {
    this.nickname = nickname;
    this.identity.set(nickname);
    this.signOut.set(nickname !== undefined);
    this.notifications.refresh(nickname !== undefined);
  }

  /** The Sign out button: ends the session on the server, then forgets it here. */
  private async signOutNow(): Promise<void> {
    try {
      await this.api.deleteSession();
    } catch (error) {
      throw new Error(describe(error), { cause: error });
    }
    forgetAll();
    this.unread.clear();
    this.signedOut();
  }

  /** The session is gone (expired or deleted elsewhere): forget its rooms and ask for a nickname again. */
  private signedOut(): void {
    for (const room of [...this.views.keys()]) this.forget(room);
    this.setNickname(undefined);
    this.route();
  }

  private left(room: string): void {
    this.forget(room);
    const next = this.tabs.names[0];
    this.navigate(next === undefined ? '/' : roomPath(next));
  }

  private forget(room: string): void {
    this.observe?.unwatch(room);
    this.views.delete(room);
    this.tabs.remove(room);
    this.unread.delete(room);
    saveUnread(this.unread);
    saveRoomOrder(this.tabs.names);
  }
}

function boot(): void {
  const root = document.getElementById('app');
  if (root === null) return;
  new ChatPage(root).start().catch((error: unknown) => {
    append(root, el('p', { class: 'page-error', role: 'alert' }, `Parley could not start: ${describe(error)}`));
  });
}

boot();
