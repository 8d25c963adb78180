import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError, NOTIFY_PATH, isEventList, type Logger, type NotifyBody } from '@parley/protocol';
import { parseInternalJsonBody, readLimitedBody, signatureHeaders, verifySignedRequest, type ReplayGuard } from '@parley/protocol/node';
import { sendError, toChatError } from './http-util.js';
import type { RoomDirectory } from './room-directory.js';

/** Largest notify body accepted: a batch of events, far below this. */
export const MAX_NOTIFY_BODY_BYTES = 1024 * 1024;

/** What the notify handler works with. */
export interface NotifyContext {
  secret: string;
  /** Nonces of notifications already accepted: a replay is refused (403 `replayed_request`). */
  replayGuard: ReplayGuard;
  rooms: RoomDirectory;
  log: Logger;
}

/**
 * `POST /internal/notify`: a worker hands over committed events. The body is
 * read (1 MiB at most), its signature checked before it is parsed, and its
 * events applied: duplicates dropped, gaps repaired before any observer of
 * the room is answered. 204 when applied.
 */
export async function handleNotify(req: IncomingMessage, res: ServerResponse, ctx: NotifyContext): Promise<void> {
  try {
    const body = await readLimitedBody(req, MAX_NOTIFY_BODY_BYTES);
    verifySignedRequest(ctx.secret, { method: 'POST', path: NOTIFY_PATH, body }, signatureHeaders(req.headers), {
      replayGuard: ctx.replayGuard,
    });
    const notify = parseNotifyBody(body);
    const result = ctx.rooms.applyEvents(notify.events);
    ctx.log.debug({ events: notify.events.length, ...result }, 'notify applied');
    if (!res.headersSent) {
      res.writeHead(204);
      res.end();
    }
  } catch (error) {
    const chatError = toChatError(error);
    if (chatError.status >= 500) ctx.log.error({ err: error }, 'notify failed');
    else ctx.log.warn({ code: chatError.code }, 'notify refused');
    // A refused body may not have been read to its end: do not reuse the connection.
    sendError(res, chatError, chatError.code === 'payload_too_large' ? { connection: 'close' } : {});
  }
}

/** Parses and shape-checks a `NotifyBody`, or throws `invalid_body`. */
export function parseNotifyBody(body: Buffer): NotifyBody {
  const value = parseInternalJsonBody(body, 'notify');
  if (!isEventList(value)) throw new ChatError('invalid_body', 'notify body must be {"events":[ChatEvent...]}');
  return { events: value.events };
}
