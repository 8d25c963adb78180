/**
 * The closed table of error codes the HTTP API answers with, and their status.
 * Every 4xx and 5xx body is `{"error":{"code","message"}}`.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  invalid_nickname: 400,
  invalid_room: 400,
  invalid_text: 400,
  invalid_client_id: 400,
  invalid_cursor: 400,
  invalid_callback: 400,
  invalid_parameter: 400,
  invalid_username: 400,
  /** A password shorter than 10 or longer than 256 characters. */
  weak_password: 400,
  /** A request line or headers nginx refused before any Parley process saw them. */
  invalid_request: 400,
  /**
   * A session token in the URL (`?session=`): URLs end up in logs, histories
   * and Referer headers. Send `Authorization: Bearer`, or read with an observe ticket.
   */
  session_in_url: 400,
  unauthorized: 401,
  session_expired: 401,
  /** Sign-in refused: the same answer for an unknown username and a wrong password. */
  invalid_credentials: 401,
  signature_required: 401,
  csrf_required: 403,
  bad_signature: 403,
  /** A signed internal request whose nonce the receiver already accepted. */
  replayed_request: 403,
  forbidden: 403,
  not_found: 404,
  room_not_found: 404,
  /** No message at that seq of the room (or it was deleted). */
  message_not_found: 404,
  method_not_allowed: 405,
  not_in_room: 409,
  client_id_conflict: 409,
  username_taken: 409,
  /** A guest nickname equal to an account's username (only that account may use it). */
  nickname_taken: 409,
  room_exists: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An error that is part of the protocol: it knows its code and HTTP status. */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds the client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { retryAfterSeconds?: number }) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** The answer body; a 5xx never carries the internal message. */
  toBody(): ErrorBody {
    const message = this.status >= 500 && this.code === 'internal' ? 'internal error' : this.message;
    return { error: { code: this.code, message } };
  }
}

/** Is `value` one of the protocol's error codes? */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
