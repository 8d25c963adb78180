import type { IncomingMessage } from 'node:http';
import { ChatError } from '../errors.js';

/**
 * Reads a request body of at most `limitBytes`. Rejects with
 * `payload_too_large` as soon as the declared or received size is over it:
 * the rest is drained, not buffered, and the socket is kept so a 413 can still
 * be written (answer it with `Connection: close`). A body the client abandons
 * or that fails to arrive rejects with `invalid_body`.
 */
export function readLimitedBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const tooLarge = (): ChatError => new ChatError('payload_too_large', `request body must be at most ${limitBytes} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFailure);
      req.off('close', onFailure);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    // An error, or 'close' before 'end': the client went away mid-body.
    const onFailure = (): void => {
      cleanup();
      reject(new ChatError('invalid_body', 'the request body could not be read'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFailure);
    req.on('close', onFailure);
  });
}

/**
 * The JSON value of an internal request body (read with `readLimitedBody`),
 * or `invalid_body` naming `what` when it is not JSON; its shape is the
 * caller's to check.
 */
export function parseInternalJsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new ChatError('invalid_body', `${what} body is not JSON`);
  }
}
