import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'koa';

/** Addresses whose forwarding headers are believed (our nginx); empty: none. */
export type TrustedProxies = ReadonlySet<string>;

/** `::ffff:127.0.0.1` → `127.0.0.1`: one address, one spelling. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function peerAddress(ctx: Context): string {
  return normalizeAddress(ctx.req.socket.remoteAddress ?? '');
}

/**
 * The address of the client a request is from: the `X-Real-IP` our nginx
 * sets when the connection comes from a trusted proxy, else the peer
 * address itself. A client that sends its own `X-Real-IP` straight to a web
 * port is not a trusted proxy, so it cannot pick the address it is counted as.
 */
export function clientAddress(ctx: Context, trusted: TrustedProxies): string {
  const peer = peerAddress(ctx);
  if (trusted.has(peer)) {
    const forwarded = ctx.get('X-Real-IP').trim();
    if (isIP(forwarded) !== 0) return normalizeAddress(forwarded);
  }
  return peer;
}

/**
 * Did the request reach us over TLS: on a TLS socket, or through a trusted
 * proxy that says `X-Forwarded-Proto: https` (nginx terminating TLS)?
 */
export function isTlsRequest(ctx: Context, trusted: TrustedProxies): boolean {
  if ((ctx.req.socket as Partial<TLSSocket>).encrypted === true) return true;
  return trusted.has(peerAddress(ctx)) && ctx.get('X-Forwarded-Proto').trim().toLowerCase() === 'https';
}
