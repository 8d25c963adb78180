import type { RoomName } from './events.js';

/**
 * Presence in Redis, per room: a sorted set whose members are session token
 * hashes and whose scores are when that session was last seen in the room
 * (epoch ms). Chatservers add to it while a session observes the room, the web
 * tier when it enters; the worker's sweeper leaves members older than the
 * presence timeout. The token hash is the store's `tokenHash`, so a chatserver
 * (which never opens the database) and the web tier name a session the same way.
 */
export function presenceKey(prefix: string, room: RoomName): string {
  return `${prefix}presence:${room}`;
}

/**
 * The set of rooms that have presence entries, which the sweeper scans.
 * Not `presence:rooms`: that is the key of the room named `rooms`. A room name
 * never contains `-` right after `presence`, so this key cannot collide.
 */
export function presenceRoomsKey(prefix: string): string {
  return `${prefix}presence-rooms`;
}

/** The lock that lets one sweeper in the cluster work per tick (`SET … NX PX`). */
export function presenceSweepLockKey(prefix: string): string {
  return `${prefix}presence-sweep-lock`;
}

/** Name of the session cookie (set by the web tier, read by chatservers too). */
export const SESSION_COOKIE = 'parley_session';
// 32 random bytes in base64url are 43 characters; anything far from that
// shape is refused without a database lookup (or a presence entry).
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,128}$/;

/** Could `token` be a session token of ours? */
export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

/** Path of the web tier's signed endpoint that leaves stale sessions. */
export const PRESENCE_EXPIRE_PATH = '/internal/presence/expire';

/** Body of `POST /internal/presence/expire`: sessions (by token hash) not seen in `room` for the timeout. */
export interface PresenceExpireBody {
  room: RoomName;
  tokenHashes: string[];
}

/** Answer of `POST /internal/presence/expire`: how many sessions left the room (one `leave` event each). */
export interface PresenceExpireAnswer {
  left: number;
}

/** Most token hashes one expire request may carry. */
export const MAX_PRESENCE_EXPIRE_HASHES = 1000;
