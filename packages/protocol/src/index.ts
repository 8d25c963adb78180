/**
 * `@parley/protocol`: what every tier and the browser share — event and answer
 * types, the error table, validation, the cursor, JSONP and event-stream codecs, the event
 * shape check, Redis key names and internal paths. It runs in a browser:
 * nothing under this entry may import a `node:` module (test/browser-safe.test.ts
 * bundles it for the browser to prove it). Node-only parts — config reading,
 * request signing, body reading, metrics auth, token hashing — are in
 * `@parley/protocol/node` (src/node/).
 */
export type {
  ChatEvent,
  ChatEventType,
  DeleteEvent,
  DeletedMessageEvent,
  EditEvent,
  EnterEvent,
  KickEvent,
  LeaveEvent,
  LiveMessageEvent,
  MessageEvent,
  NickEvent,
  NotifyBody,
  NotifyJobData,
  ObserveAnswer,
  RoomDetail,
  RoomEventsInternalAnswer,
  RoomHeadsAnswer,
  RoomHeadsBody,
  RoomAccessAnswer,
  RoomAccessBody,
  RoomAccessKind,
  RoomName,
  RoomSummary,
  RoomVisibility,
  Seq,
} from './events.js';
export { MAX_ACCESS_ROOMS, MAX_ROOM_HEADS, NOTIFY_PATH, ROOM_ACCESS_PATH, ROOM_HEADS_PATH } from './events.js';
export { isChatEvent, isEventList, isLiveMessage, isSeq } from './event-shape.js';
export { ChatError, ERROR_STATUS, isErrorCode, type ErrorBody, type ErrorCode } from './errors.js';
export {
  DM_ROOM_PREFIX,
  MAX_NICKNAME_LENGTH,
  MAX_TEXT_LENGTH,
  PASSWORD_LENGTH,
  isDirectRoomName,
  isRoomName,
  parseClientId,
  parseIntegerParameter,
  parseMessageText,
  parseNickname,
  parsePassword,
  parseRoomName,
  parseSearchWords,
  parseUsername,
  refuseSessionInUrl,
} from './validation.js';
export { MAX_CURSOR_ROOMS, formatCursor, parseCursor, readCursor, type Cursor } from './cursor.js';
export {
  JSONP_HEADERS,
  MAX_CALLBACK_LENGTH,
  escapeLineSeparators,
  isCallbackName,
  parseCallbackName,
  wrapJsonp,
} from './jsonp.js';
export { EventStreamParser, type EventStreamMessage } from './event-stream.js';
export { DEFAULT_REDIS_PREFIX, NOTIFY_QUEUE_NAME, registryKey, sessionsEndedChannel } from './registry.js';
export { silentLogger, type Logger } from './logger.js';
export {
  MAX_PRESENCE_EXPIRE_HASHES,
  PRESENCE_EXPIRE_PATH,
  SESSION_COOKIE,
  isTokenShaped,
  presenceKey,
  presenceRoomsKey,
  presenceSweepLockKey,
  type PresenceExpireAnswer,
  type PresenceExpireBody,
} from './presence.js';
