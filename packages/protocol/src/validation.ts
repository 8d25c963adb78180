import { ChatError } from './errors.js';
import type { RoomName } from './events.js';

const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Longest nickname, in Unicode code points. */
export const MAX_NICKNAME_LENGTH = 32;
/** Longest message, in Unicode code points. */
export const MAX_TEXT_LENGTH = 2000;
const USERNAME = /^[a-z0-9][a-z0-9_-]{2,31}$/;
/** Names of direct-message rooms start with this; no room or username may. */
export const DM_ROOM_PREFIX = 'dm-';
/** Shortest and longest password, in Unicode code points. */
export const PASSWORD_LENGTH = { min: 10, max: 256 } as const;
/** A client's idempotency key for `say`: 1–64 of `[A-Za-z0-9_-]`. */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

// C0/C1 controls and DEL; every bidi control (marks U+061C/U+200E/U+200F,
// embeddings/overrides U+202A-202E, isolates U+2066-2069) that can make a name
// or message display as something else (Trojan Source); line and paragraph
// separators; the byte-order mark; lone surrogates (not valid Unicode text).
const FORBIDDEN_IN_NICKNAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]|\p{Cs}/u;
// Messages may hold newlines and tabs, nothing else of the above.
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]|\p{Cs}/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Characters that render as nothing: default-ignorables (soft hyphen, zero-width
// space/joiners, word joiner, the Hangul fillers U+115F/U+1160/U+3164/U+FFA0,
// variation selectors, tags) and format characters. A name or text made only
// of these (and white space) looks empty.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\u3164\u115f\u1160\uffa0]/gu;
// In a nickname they would let "al\u00adice" pass as "alice"; the one legitimate
// use is inside an emoji sequence (ZWJ families, variation selector 16,
// keycaps, subdivision-flag tags), so a joiner, variation selector or tag is
// allowed only right after an emoji or emoji component.
// eslint-disable-next-line no-misleading-character-class -- the joiner is listed alone on purpose: each one is matched by itself
const EMOJI_SEQUENCE_PART = /(?<=[\p{Extended_Pictographic}\p{Emoji_Component}])[\u200d\ufe0e\ufe0f\u{e0020}-\u{e007f}]/gu;

function looksEmpty(text: string): boolean {
  return text.replace(INVISIBLE, '').trim().length === 0;
}

function hasInvisibleOutsideEmoji(nickname: string): boolean {
  return nickname.replace(EMOJI_SEQUENCE_PART, '').search(INVISIBLE) !== -1;
}

function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** Is `name` a valid room name? */
export function isRoomName(name: unknown): name is RoomName {
  return typeof name === 'string' && ROOM_NAME.test(name);
}

/** Validates a room name or throws `invalid_room`. */
export function parseRoomName(name: unknown): RoomName {
  if (!isRoomName(name)) {
    throw new ChatError('invalid_room', 'room names are 1-64 of a-z, 0-9, "_" and "-", starting with a letter or digit');
  }
  return name;
}

/**
 * Validates a nickname or throws `invalid_nickname`: surrounding white space is
 * trimmed, then 1–32 printable characters, no control or bidi characters, no
 * invisible characters except the joiners inside an emoji sequence.
 */
export function parseNickname(value: unknown): string {
  if (typeof value !== 'string') throw new ChatError('invalid_nickname', 'nickname must be a string');
  const nickname = value.normalize('NFC').trim();
  const length = codePointLength(nickname);
  if (length < 1 || length > MAX_NICKNAME_LENGTH) {
    throw new ChatError('invalid_nickname', `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`);
  }
  if (FORBIDDEN_IN_NICKNAME.test(nickname) || LONE_SURROGATE.test(nickname)) {
    throw new ChatError('invalid_nickname', 'nickname must not contain control or bidi characters');
  }
  if (looksEmpty(nickname) || hasInvisibleOutsideEmoji(nickname)) {
    throw new ChatError('invalid_nickname', 'nickname must not contain invisible characters');
  }
  return nickname;
}

/**
 * Validates a message text or throws `invalid_text`: 1–2000 characters, not only
 * white space or invisible characters; newlines and tabs allowed, other control
 * and bidi characters not.
 */
export function parseMessageText(value: unknown): string {
  if (typeof value !== 'string') throw new ChatError('invalid_text', 'text must be a string');
  const text = value.normalize('NFC');
  const length = codePointLength(text);
  if (length > MAX_TEXT_LENGTH) throw new ChatError('invalid_text', `text must be at most ${MAX_TEXT_LENGTH} characters`);
  if (looksEmpty(text)) throw new ChatError('invalid_text', 'text must not be empty or only invisible characters');
  if (FORBIDDEN_IN_TEXT.test(text) || LONE_SURROGATE.test(text)) {
    throw new ChatError('invalid_text', 'text must not contain control or bidi characters');
  }
  return text;
}

/** Validates an optional `clientId` or throws `invalid_client_id`. */
export function parseClientId(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !CLIENT_ID.test(value)) {
    throw new ChatError('invalid_client_id', 'clientId must be 1-64 of A-Z, a-z, 0-9, "_" and "-"');
  }
  return value;
}

/**
 * Refuses a session token in the query (`?session=`, however %-escaped) with
 * 400 `session_in_url`, on every tier: a URL ends up in access logs, browser
 * history and `Referer` headers. A session goes in `Authorization: Bearer`
 * or the cookie; a third-party page reads a private room with an observe
 * ticket (`?ticket=`), short-lived and good for reading one room only.
 */
export function refuseSessionInUrl(query: URLSearchParams): void {
  if (query.has('session')) {
    throw new ChatError(
      'session_in_url',
      'a session token in a URL is refused (URLs get logged): send Authorization: Bearer, or read with an observe ticket (POST /api/observe-ticket, then ticket=)',
    );
  }
}

/**
 * Parses a non-negative integer query parameter (`after`, `before`, `limit`,
 * `wait`) or throws `invalid_parameter`. Absent gives `undefined`.
 */
export function parseIntegerParameter(
  name: string,
  value: unknown,
  bounds: { min: number; max: number },
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new ChatError('invalid_parameter', `${name} must be a whole number`);
  }
  const parsed = Number(value);
  if (parsed < bounds.min || parsed > bounds.max) {
    throw new ChatError('invalid_parameter', `${name} must be between ${bounds.min} and ${bounds.max}`);
  }
  return parsed;
}

/** Validates a username or throws `invalid_username`: `[a-z0-9][a-z0-9_-]{2,31}`, not starting with `dm-`. */
export function parseUsername(value: unknown): string {
  if (typeof value !== 'string' || !USERNAME.test(value) || value.startsWith(DM_ROOM_PREFIX)) {
    throw new ChatError('invalid_username', 'usernames are 3-32 of a-z, 0-9, "_" and "-", starting with a letter or digit, not "dm-"');
  }
  return value;
}

/** Validates a new password or throws `weak_password`: 10-256 characters. */
export function parsePassword(value: unknown): string {
  if (typeof value !== 'string') throw new ChatError('weak_password', 'password must be a string');
  const length = codePointLength(value);
  if (length < PASSWORD_LENGTH.min || length > PASSWORD_LENGTH.max) {
    throw new ChatError('weak_password', `passwords are ${PASSWORD_LENGTH.min}-${PASSWORD_LENGTH.max} characters`);
  }
  return value;
}

/** Is `room` the name of a direct-message room (reserved: never created by name)? */
export function isDirectRoomName(room: RoomName): boolean {
  return room.startsWith(DM_ROOM_PREFIX);
}

/** Most words of one search. */
export const MAX_SEARCH_WORDS = 8;
/** Most characters of a search's `q`. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * Reads a search's `q` into its words (runs of letters and digits, lower
 * case; everything else separates them), or throws `invalid_parameter` when
 * it is missing, longer than 200 characters, or holds no word or more than 8.
 */
export function parseSearchWords(value: unknown): string[] {
  if (typeof value !== 'string' || value.length > MAX_SEARCH_LENGTH) {
    throw new ChatError('invalid_parameter', `q must be a text of at most ${MAX_SEARCH_LENGTH} characters`);
  }
  const words = value.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) throw new ChatError('invalid_parameter', 'q must hold at least one word');
  if (words.length > MAX_SEARCH_WORDS) throw new ChatError('invalid_parameter', `q may hold at most ${MAX_SEARCH_WORDS} words`);
  return words;
}
