import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'koa';

/** Addresses whose forwarding headers are believed (our nginx). */
export interface TrustedProxies {
  has(address: string): boolean;
}

/**
 * Parses one `PARLEY_TRUSTED_PROXIES` entry, an IP address or a CIDR range
 * (`172.16.0.0/12`), into its address and prefix length; throws when invalid.
 */
export function parseProxyEntry(entry: string): { address: string; prefix: number } {
  const [address = '', prefixText, extra] = entry.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (family === 0 || extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? '0') || prefix > bits) {
    throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
  }
  return { address: normalizeAddress(address), prefix };
}

/** The trusted proxies of a list of addresses and CIDR ranges (already validated by the config). */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const { address, prefix } = parseProxyEntry(entry);
    list.addSubnet(address, prefix, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
  // BlockList#check builds a SocketAddress on every call (2.4 % of a web
  // process's busy samples under a say load); the peers are a handful of
  // proxies, so each answer is remembered, at most MAX_REMEMBERED_PEERS.
  const remembered = new Map<string, boolean>();
  return {
    has(address) {
      let trusted = remembered.get(address);
      if (trusted === undefined) {
        const family = isIP(address);
        trusted = family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
        if (remembered.size >= MAX_REMEMBERED_PEERS) remembered.clear();
        remembered.set(address, trusted);
      }
      return trusted;
    },
  };
}

// Peers whose trust is remembered; a web port reached directly by many
// clients just starts over, which costs one check each.
const MAX_REMEMBERED_PEERS = 1024;

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
