export type {
  ChatEvent,
  ChatEventType,
  EnterEvent,
  LeaveEvent,
  MessageEvent,
  NickEvent,
  NotifyBody,
  NotifyJobData,
  ObserveAnswer,
  RoomDetail,
  RoomEventsInternalAnswer,
  RoomHeadsAnswer,
  RoomHeadsBody,
  RoomName,
  RoomSummary,
  Seq,
} from './events.js';
export { MAX_ROOM_HEADS, ROOM_HEADS_PATH } from './events.js';
export { ChatError, ERROR_STATUS, isErrorCode, type ErrorBody, type ErrorCode } from './errors.js';
export {
  MAX_NICKNAME_LENGTH,
  MAX_TEXT_LENGTH,
  isRoomName,
  parseClientId,
  parseIntegerParameter,
  parseMessageText,
  parseNickname,
  parseRoomName,
} from './validation.js';
export { MAX_CURSOR_ROOMS, formatCursor, parseCursor, type Cursor } from './cursor.js';
export {
  JSONP_HEADERS,
  MAX_CALLBACK_LENGTH,
  escapeLineSeparators,
  isCallbackName,
  parseCallbackName,
  wrapJsonp,
} from './jsonp.js';
export {
  DEFAULT_SIGNATURE_WINDOW_MS,
  NONCE_HEADER,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signRequest,
  signatureHeaders,
  verifySignedRequest,
  type ReplayGuardOptions,
  type SignatureHeaders,
  type SignedRequestParts,
} from './signing.js';
export { DEFAULT_REDIS_PREFIX, NOTIFY_QUEUE_NAME, registryKey } from './registry.js';
export { silentLogger, type Logger } from './logger.js';
export {
  ConfigError,
  bindScope,
  commonConfigSchema,
  parse,
  readConfig,
  type BindScope,
  type CommonConfig,
  type ConfigField,
  type ConfigSchema,
  type LogLevel,
} from './config.js';
export { parseInternalJsonBody, readLimitedBody } from './http-body.js';
export { METRICS_PATH, isMetricsScrapeAllowed } from './metrics-auth.js';
export {
  MAX_PRESENCE_EXPIRE_HASHES,
  PRESENCE_EXPIRE_PATH,
  hashSessionToken,
  SESSION_COOKIE,
  isTokenShaped,
  presenceKey,
  presenceRoomsKey,
  presenceSweepLockKey,
  type PresenceExpireAnswer,
  type PresenceExpireBody,
} from './presence.js';
