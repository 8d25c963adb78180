import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RoomName } from '../events.js';

/**
 * Observe tickets: how a third-party page reads one private room without a
 * session token in its URLs. A ticket names one room and an expiry and is
 * signed with the cluster's shared secret, so a chatserver checks it alone,
 * without the database. It grants reading that room (observe) and nothing else.
 *
 * Shape: `ROOM.EXPIRES.SIGNATURE` (room names hold no dot; EXPIRES is epoch
 * ms; SIGNATURE is base64url HMAC-SHA256 over a domain-separated text, so a
 * ticket can never be mistaken for a signed internal request).
 */
export interface ObserveTicket {
  room: RoomName;
  /** Epoch milliseconds after which the ticket is refused. */
  expiresAt: number;
}

function ticketSignature(secret: string, room: RoomName, expiresAt: number): string {
  return createHmac('sha256', secret).update(`parley-observe-ticket\n${room}\n${expiresAt}`).digest('base64url');
}

/** Signs a ticket for reading `room` until `expiresAt`. */
export function signObserveTicket(secret: string, ticket: ObserveTicket): string {
  return `${ticket.room}.${ticket.expiresAt}.${ticketSignature(secret, ticket.room, ticket.expiresAt)}`;
}

/** The room a ticket grants, or `undefined` when it is malformed, forged or expired at `now`. */
export function verifyObserveTicket(secret: string, ticket: string, now: number = Date.now()): ObserveTicket | undefined {
  const match = /^([a-z0-9][a-z0-9_-]{0,63})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
  if (match === null) return undefined;
  const room = match[1] as string;
  const expiresAt = Number(match[2]);
  if (!(expiresAt > now)) return undefined;
  const expected = Buffer.from(ticketSignature(secret, room, expiresAt));
  const given = Buffer.from(match[3] as string);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { room, expiresAt };
}
