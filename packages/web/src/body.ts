import type { Context } from 'koa';
import { ChatError } from '@parley/protocol';
import { readLimitedBody } from '@parley/protocol/node';

/**
 * Largest accepted request body. The biggest legitimate one is a `say` of
 * 2000 characters of 4-byte UTF-8 (8 KiB) plus JSON escaping; 16 KiB leaves room.
 */
export const MAX_BODY_BYTES = 16 * 1024;

/** A JSON request body that is an object. */
export type JsonObject = Record<string, unknown>;

/** Options of `readJsonBody`. */
export interface ReadJsonBodyOptions {
  /** Answer `{}` for an empty body (endpoints that take no body). @default false */
  allowEmpty?: boolean;
  /** @default MAX_BODY_BYTES */
  maxBytes?: number;
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...parameters] = header.split(';');
  if (type?.trim().toLowerCase() !== 'application/json') return false;
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=');
    if (name?.trim().toLowerCase() !== 'charset') continue;
    const charset = (value ?? '').trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

function tooLarge(ctx: Context, maxBytes: number): ChatError {
  // The rest of the body is not read: close the connection after answering
  // rather than keep a socket whose next request would start mid-body.
  ctx.set('Connection', 'close');
  return new ChatError('payload_too_large', `request body must be at most ${maxBytes} bytes`);
}

function hasBody(ctx: Context): boolean {
  const headers = ctx.req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Reads a POST's JSON body as an object. Refuses, in this order: a declared
 * length over the limit (413 `payload_too_large`), a content type other than
 * `application/json` with an optional UTF-8 charset (415
 * `unsupported_media_type`), a body that grows over the limit (413), bytes that
 * are not UTF-8 or text that is not JSON (400 `invalid_json`), and JSON that is
 * not an object (400 `invalid_body`). With `allowEmpty`, an empty body is `{}`.
 */
export async function readJsonBody(ctx: Context, options: ReadJsonBodyOptions = {}): Promise<JsonObject> {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(ctx, maxBytes);
  if (!hasBody(ctx) && options.allowEmpty === true) return {};
  if (!isJsonContentType(ctx.req.headers['content-type'])) {
    throw new ChatError('unsupported_media_type', 'request body must be application/json (UTF-8)');
  }
  let bytes: Buffer;
  try {
    bytes = await readLimitedBody(ctx.req, maxBytes);
  } catch (error) {
    if (error instanceof ChatError && error.code === 'payload_too_large') throw tooLarge(ctx, maxBytes);
    throw error;
  }
  if (bytes.length === 0) {
    if (options.allowEmpty === true) return {};
    throw new ChatError('invalid_json', 'request body is empty; a JSON object is expected');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ChatError('invalid_json', 'request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChatError('invalid_json', 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChatError('invalid_body', 'request body must be a JSON object');
  }
  return value as JsonObject;
}
