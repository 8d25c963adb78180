import { createHash } from 'node:crypto';

/**
 * The store's `tokenHash` of a session token: its SHA-256, hex. Node-only
 * (`node:crypto` hashes synchronously; the browser's `crypto.subtle` cannot),
 * and only servers ever hash a token.
 */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
