import { newClientId, ParleyError, type ParleyApi } from '@parley/client';
import type { ChatEvent, RoomDetail } from '@parley/protocol';
import { createComposer, type Composer } from './composer.js';
import { el, replaceChildren } from './dom.js';
import { eventItem, nickColourClass, updateGrouping } from './event-item.js';
import { applyChange, attachMessageActions, editLastOnArrowUp, isChangeEvent, showDeleted, type MessageActionHandlers } from './message-changes.js';
import { mentions } from './message-text.js';
import { createSearchPanel } from './search-panel.js';
import { SendQueue, type OutgoingState } from './send-queue.js';

/** Events read per "Load older" (the same page size as an enter). */
const OLDER_PAGE = 50;
/** Occupant re-reads after enter/leave/nick events are gathered this long, so a burst costs one request. */
const OCCUPANTS_REFRESH_MS = 300;
/** Within this many pixels of the bottom, the log follows new messages; further up, the reader is reading. */
const FOLLOW_SLACK_PX = 80;
/** Pages of older history a jump to a search result reads at most before reading around the result instead. */
const JUMP_MAX_PAGES = 10;
/** How long a message jumped to stays highlighted. */
const FOUND_HIGHLIGHT_MS = 4000;

/** What a room view needs from the page around it. */
export interface RoomHost {
  api: ParleyApi;
  /** The nickname of this session now. */
  nickname(): string | undefined;
  /** Keeps the room live from `afterSeq` on (the shared observe). */
  watch(room: string, afterSeq: number): void;
  /** Called when the number of unread messages of a room changes. */
  unreadChanged(room: string, unread: number): void;
  /** New messages of others arrived live (shown or not), for the title count and notifications. */
  messagesArrived(room: string, messages: ArrivedMessage[]): void;
  /** The person left the room with the Leave button. */
  left(room: string): void;
}

/** A message of someone else that arrived live. */
export interface ArrivedMessage {
  seq: number;
  nickname: string;
  text: string;
  /** It says `@` and the reader's nickname. */
  mentionsMe: boolean;
}

/** A message this page sent and has no stored event for yet. */
interface PendingMessage {
  clientId: string;
  text: string;
  item: HTMLLIElement;
  status: HTMLSpanElement;
  state: OutgoingState;
  /** The observe delivered a message that is very likely this one, before the 201 did; it is hidden meanwhile. */
  claimedBy: number | undefined;
}

/**
 * One room: its history (with "Load older"), live events in seq order with
 * no duplicates (one list item per seq), its occupant list, the message box
 * with its send queue (in order; resent by itself after a dropped connection
 * or a 429; Retry on a refusal), and the Leave button. The view exists while the
 * session is in the room, whether shown or not, so events keep arriving.
 */
export class RoomView {
  readonly element: HTMLElement;
  private readonly items = new Map<number, HTMLLIElement>();
  /** Stored seqs, ascending (the order of `eventList`). */
  private readonly seqs: number[] = [];
  private readonly pending = new Map<string, PendingMessage>();
  private readonly outbox: SendQueue<PendingMessage>;
  private readonly log: HTMLDivElement;
  private readonly eventList: HTMLOListElement;
  private readonly pendingList: HTMLOListElement;
  private readonly olderButton: HTMLButtonElement;
  private readonly occupantsSummary: HTMLElement;
  private readonly occupantsList: HTMLUListElement;
  private readonly notice: HTMLParagraphElement;
  private readonly composer: Composer;
  private enterPromise: Promise<void> | undefined;
  private occupantsTimer: ReturnType<typeof setTimeout> | undefined;
  private visible = false;
  private unread = 0;
  /** Seqs of the messages this page said (its own, whatever the nickname since). */
  private readonly ownSeqs = new Set<number>();
  private readonly actions: MessageActionHandlers;

  constructor(
    readonly name: string,
    private readonly host: RoomHost,
  ) {
    this.olderButton = el('button', { type: 'button', class: 'older', hidden: true }, 'Load older');
    this.olderButton.addEventListener('click', () => void this.loadOlder());
    this.eventList = el('ol', { class: 'events' });
    this.pendingList = el('ol', { class: 'events pending-events' });
    this.log = el(
      'div',
      { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': `Chat in #${name}`, tabindex: '0' },
      this.olderButton,
      this.eventList,
      this.pendingList,
    );
    this.occupantsSummary = el('summary', {}, 'People here');
    this.occupantsList = el('ul', { class: 'occupant-list' });
    const occupants = el('details', { class: 'occupants' }, this.occupantsSummary, this.occupantsList);
    // Wide screens have a column for the list; narrow ones show one line until asked.
    const wide = window.matchMedia('(min-width: 60rem)');
    occupants.open = wide.matches;
    wide.addEventListener('change', () => {
      occupants.open = wide.matches;
    });
    const leave = el('button', { type: 'button', class: 'leave secondary' }, 'Leave');
    leave.addEventListener('click', () => void this.leave(leave));
    this.notice = el('p', { class: 'room-notice', role: 'alert', hidden: true });
    this.composer = createComposer((text) => this.send(text));
    this.actions = {
      edit: async (seq, text) => {
        const event = await this.host.api.editMessage(this.name, seq, text);
        this.addEvents([event], false);
      },
      remove: async (seq) => {
        await this.host.api.deleteMessage(this.name, seq);
        const item = this.items.get(seq);
        if (item !== undefined) showDeleted(item);
      },
      failed: (reason) => this.showNotice(reason),
    };
    editLastOnArrowUp(this.composer.textarea, () => this.lastOwnMessage(), this.actions);
    const search = createSearchPanel(name, {
      search: (q, limit) => this.host.api.search(this.name, q, limit),
      jumpTo: (seq) => this.jumpTo(seq),
      describe,
    });
    this.outbox = new SendQueue<PendingMessage>({
      send: (message) => this.attempt(message),
      stateChanged: (message, state, reason) => this.setPendingState(message, state, reason),
    });
    this.element = el(
      'section',
      { class: 'room', 'aria-labelledby': `room-title-${name}` },
      el('header', { class: 'room-header' }, el('h2', { id: `room-title-${name}` }, `#${name}`), search.element, leave),
      occupants,
      this.notice,
      this.log,
      this.composer.element,
    );
  }

  /** Enters the room once per page load (latest events and occupants), then keeps it live. */
  enter(): Promise<void> {
    this.enterPromise ??= this.doEnter().catch((error: unknown) => {
      this.enterPromise = undefined;
      this.showNotice(`Could not enter ${this.name}: ${describe(error)}`);
      throw error;
    });
    return this.enterPromise;
  }

  /** Shown (or hidden) in the page; a shown room has no unread messages. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible) {
      this.setUnread(0);
      this.scrollToBottom();
      this.composer.focus();
    }
  }

  /** Live events of this room from the shared observe (in seq order, each once). */
  receive(events: ChatEvent[]): void {
    const me = this.host.nickname();
    const arrived: ArrivedMessage[] = [];
    for (const event of this.addEvents(events, true)) {
      if (event.type !== 'message' || !('text' in event) || event.nickname === me) continue;
      arrived.push({ seq: event.seq, nickname: event.nickname, text: event.text, mentionsMe: mentions(event.text, me) });
    }
    if (arrived.length === 0) return;
    if (!this.visible) this.setUnread(this.unread + arrived.length);
    this.host.messagesArrived(this.name, arrived);
  }

  /** The unread count remembered from before a reload. */
  restoreUnread(unread: number): void {
    if (!this.visible) this.setUnread(unread);
  }

  /** The connection is back: send what waited for it now. */
  connectionBack(): void {
    this.outbox.resume();
  }

  private async doEnter(): Promise<void> {
    const { room, events } = await this.host.api.enter(this.name);
    this.notice.hidden = true;
    this.showOccupants(room);
    this.addEvents(events, false);
    this.host.watch(this.name, room.seq);
    this.scrollToBottom();
  }

  /** Adds stored events not shown yet, each at its place by seq; returns the ones that were new. */
  private addEvents(events: ChatEvent[], live: boolean): ChatEvent[] {
    const follow = this.isNearBottom();
    const added: ChatEvent[] = [];
    let membershipChanged = false;
    for (const event of events) {
      if (event.room !== this.name || this.items.has(event.seq)) continue;
      this.insert(event);
      added.push(event);
      if (event.type === 'enter' || event.type === 'leave' || event.type === 'nick') membershipChanged = true;
      else if (event.type === 'message' && live) this.claimPending(event);
    }
    this.olderButton.hidden = (this.seqs[0] ?? 1) <= 1;
    if (membershipChanged && live) this.refreshOccupantsSoon();
    if (follow && added.length > 0) this.scrollToBottom();
    return added;
  }

  private insert(event: ChatEvent): void {
    const item = eventItem(event, this.host.nickname());
    // Usually the newest: search from the end.
    let index = this.seqs.length;
    while (index > 0 && (this.seqs[index - 1] as number) > event.seq) index--;
    const before = index < this.seqs.length ? this.items.get(this.seqs[index] as number) ?? null : null;
    this.eventList.insertBefore(item, before);
    this.seqs.splice(index, 0, event.seq);
    this.items.set(event.seq, item);
    updateGrouping(item);
    updateGrouping(item.nextElementSibling);
    if (isChangeEvent(event)) {
      const target = this.items.get(event.target);
      if (target !== undefined) applyChange(target, event, this.host.nickname());
    } else if (event.type === 'message' && (this.ownSeqs.has(event.seq) || event.nickname === this.host.nickname())) {
      attachMessageActions(item, this.actions);
    }
  }

  /** The list item of the latest message of one's own that is not deleted. */
  private lastOwnMessage(): HTMLLIElement | undefined {
    for (let index = this.seqs.length - 1; index >= 0; index--) {
      const item = this.items.get(this.seqs[index] as number);
      if (item?.querySelector('.message-actions') != null) return item;
    }
    return undefined;
  }

  /**
   * Shows the message at `seq` in its place: reads older pages until it is
   * loaded (at most JUMP_MAX_PAGES, else the page around it), scrolls to it
   * and highlights it for a moment.
   */
  private async jumpTo(seq: number): Promise<void> {
    try {
      for (let page = 0; !this.items.has(seq) && page < JUMP_MAX_PAGES; page++) {
        const oldest = this.seqs[0];
        if (oldest === undefined || oldest <= seq) break;
        this.addEvents(await this.host.api.history(this.name, { before: oldest, limit: OLDER_PAGE }), false);
      }
      if (!this.items.has(seq)) {
        this.addEvents(await this.host.api.history(this.name, { after: Math.max(0, seq - OLDER_PAGE / 2), limit: OLDER_PAGE }), false);
      }
    } catch (error) {
      this.showNotice(`Could not show that message: ${describe(error)}`);
      return;
    }
    const item = this.items.get(seq);
    if (item === undefined) return;
    item.scrollIntoView({ block: 'center' });
    item.classList.add('found');
    item.setAttribute('tabindex', '-1');
    item.focus({ preventScroll: true });
    setTimeout(() => item.classList.remove('found'), FOUND_HIGHLIGHT_MS);
  }

  private async loadOlder(): Promise<void> {
    const oldest = this.seqs[0];
    if (oldest === undefined || oldest <= 1) return;
    this.olderButton.disabled = true;
    const fromBottom = this.log.scrollHeight - this.log.scrollTop;
    try {
      const events = await this.host.api.history(this.name, { before: oldest, limit: OLDER_PAGE });
      this.addEvents(events, false);
      // Keep what the reader was looking at in place above the new lines.
      this.log.scrollTop = this.log.scrollHeight - fromBottom;
    } catch (error) {
      this.showNotice(`Could not load older messages: ${describe(error)}`);
    } finally {
      this.olderButton.disabled = false;
    }
  }

  private send(text: string): void {
    const clientId = newClientId();
    const status = el('span', { class: 'status' });
    const item = el(
      'li',
      { class: 'event message pending', 'data-client-id': clientId },
      el('div', { class: 'meta' }, el('span', { class: `nick ${nickColourClass(this.host.nickname() ?? '')}` }, this.host.nickname() ?? 'you'), ' ', status),
      el('p', { class: 'text' }, text),
    );
    const message: PendingMessage = { clientId, text, item, status, state: 'sending', claimedBy: undefined };
    this.pending.set(clientId, message);
    this.pendingList.append(item);
    this.scrollToBottom();
    this.outbox.add(message);
  }

  /**
   * Sends (or resends, with the same clientId, so the server stores it once)
   * a pending message; throws what `say` threw, for the send queue to judge.
   */
  private async attempt(message: PendingMessage): Promise<void> {
    try {
      // The page is live (and the box usable) before the enter is answered,
      // and a say before it is refused (409 not_in_room): wait for the enter.
      await this.enter();
      const event = await this.host.api.say(this.name, message.text, message.clientId);
      this.ownSeqs.add(event.seq);
      const shown = this.items.get(event.seq);
      if (shown !== undefined) attachMessageActions(shown, this.actions);
      this.pending.delete(message.clientId);
      message.item.remove();
      this.addEvents([event], false);
      this.scrollToBottom();
    } catch (error) {
      if (message.claimedBy !== undefined) {
        // We guessed it had arrived; it had not (or we cannot know): show it again.
        message.claimedBy = undefined;
        this.pendingList.append(message.item);
      }
      throw error;
    }
  }

  private setPendingState(message: PendingMessage, state: OutgoingState, reason: string): void {
    message.state = state;
    message.item.classList.toggle('failed', state === 'failed');
    message.item.classList.toggle('queued', state === 'waiting');
    if (state === 'sending') {
      replaceChildren(message.status, 'sending…');
    } else if (state === 'waiting') {
      replaceChildren(message.status, el('span', { class: 'queued-label' }, 'not sent yet'), ` (${reason})`);
    } else {
      const retry = el('button', { type: 'button', class: 'retry' }, 'Retry');
      retry.addEventListener('click', () => this.outbox.retry(message));
      replaceChildren(message.status, el('span', { class: 'failed-label', title: reason }, 'failed'), ' ', retry);
    }
  }

  /**
   * The observe can deliver our own message before its 201 does. The event
   * does not carry the clientId, so a message of ours with the same text that
   * is still sending is taken to be it and hidden; the 201 settles it (and a
   * failure shows it again), so it is never shown twice.
   */
  private claimPending(event: Extract<ChatEvent, { type: 'message' }>): void {
    if (event.nickname !== this.host.nickname()) return;
    for (const message of this.pending.values()) {
      if (message.state === 'sending' && message.claimedBy === undefined && 'text' in event && message.text === event.text) {
        message.claimedBy = event.seq;
        message.item.remove();
        return;
      }
    }
  }

  private refreshOccupantsSoon(): void {
    clearTimeout(this.occupantsTimer);
    this.occupantsTimer = setTimeout(() => {
      this.host.api.getRoom(this.name).then(
        (room) => this.showOccupants(room),
        () => undefined, // the next enter/leave/nick event tries again
      );
    }, OCCUPANTS_REFRESH_MS);
  }

  /** Re-reads the occupant list now (after this session changed its own nickname). */
  refreshOccupants(): void {
    this.refreshOccupantsSoon();
  }

  private showOccupants(room: RoomDetail): void {
    const names = room.occupants.map((occupant) => occupant.nickname).sort((a, b) => a.localeCompare(b));
    this.occupantsSummary.textContent = names.length === 1 ? '1 person here' : `${names.length} people here`;
    replaceChildren(this.occupantsList, ...names.map((name) => el('li', { class: nickColourClass(name) }, name)));
  }

  private async leave(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await this.host.api.leave(this.name);
      this.host.left(this.name);
    } catch (error) {
      this.showNotice(`Could not leave ${this.name}: ${describe(error)}`);
    } finally {
      button.disabled = false;
    }
  }

  private setUnread(unread: number): void {
    if (unread === this.unread) return;
    this.unread = unread;
    this.host.unreadChanged(this.name, unread);
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private isNearBottom(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < FOLLOW_SLACK_PX;
  }

  private scrollToBottom(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}

/** A person-readable reason of a failed request. */
export function describe(error: unknown): string {
  if (error instanceof ParleyError) {
    if (error.code === 'network') return 'no connection';
    if (error.code === 'timeout') return 'the server did not answer in time';
    return error.message;
  }
  return String(error);
}
