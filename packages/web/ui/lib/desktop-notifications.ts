import { el } from './dom.js';

/** What a notification says and where its click leads. */
export interface Alert {
  room: string;
  seq: number;
  nickname: string;
  text: string;
  /** Mentions of the reader say so in the title; a DM names only the sender. */
  kind: 'mention' | 'direct';
}

// The body shows the start of the message; the rest is a click away.
const BODY_CHARACTERS = 160;

/**
 * Desktop notifications for mentions and direct messages. The browser's
 * permission prompt may only follow a person's click, so the page offers an
 * "Enable notifications" button (shown while the choice is not made yet) and
 * never asks on its own.
 */
export class DesktopNotifications {
  /** The button of the top bar; hidden when notifications are unsupported, allowed or refused. */
  readonly element: HTMLButtonElement;

  constructor(private readonly open: (room: string) => void) {
    this.element = el('button', { type: 'button', class: 'notify-enable secondary', hidden: true }, 'Enable notifications');
    this.element.addEventListener('click', () => {
      if (!supported()) return;
      void Notification.requestPermission().then(() => this.refresh());
    });
    this.refresh();
  }

  /** Shows the button while the person has not chosen yet (and is signed in). */
  refresh(signedIn = true): void {
    this.element.hidden = !signedIn || !supported() || Notification.permission !== 'default';
  }

  /** Notifies, if allowed, unless the person is looking at that room right now. */
  notify(alert: Alert, roomShown: boolean): void {
    if (!supported() || Notification.permission !== 'granted') return;
    if (roomShown && document.visibilityState === 'visible') return;
    const title = alert.kind === 'direct' ? alert.nickname : `${alert.nickname} mentioned you in #${alert.room}`;
    const body = alert.text.length > BODY_CHARACTERS ? `${alert.text.slice(0, BODY_CHARACTERS)}…` : alert.text;
    // One notification per message, even when several tabs of this person get it.
    const notification = new Notification(title, { body, tag: `${alert.room}:${alert.seq}` });
    notification.addEventListener('click', () => {
      window.focus();
      this.open(alert.room);
      notification.close();
    });
  }
}

function supported(): boolean {
  return typeof Notification !== 'undefined';
}
