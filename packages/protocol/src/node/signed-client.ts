import { Pool } from 'undici';
import type { Logger } from '../logger.js';
import { signRequest } from './signing.js';

/** Options of `createSignedClient`. */
export interface SignedClientOptions {
  /** Base URLs of the web processes (only their origin is used), tried in turn. */
  urls: readonly string[];
  /** HMAC secret of internal requests. */
  secret: string;
  /** Bound on one request to one web process, connect to last byte. @default 2000 */
  timeoutMs?: number;
  /** Keep-alive connections per web process. @default 8 */
  connections?: number;
  /**
   * Logs every failed attempt (`'web tier request failed'`, with the URL). A
   * caller that retries on a timer and logs once per outage leaves it out.
   * @default none
   */
  log?: Logger;
}

/** One signed internal request. */
export interface SignedRequest {
  method: 'GET' | 'POST';
  /** Path and query, as signed and sent (`/internal/heads`). */
  path: string;
  /** A JSON body (POST). */
  body?: string;
  /** Extra fields of the failure log line (`{ room }`). */
  logFields?: Record<string, string | number>;
}

/** A keep-alive client of the web tier's signed internal endpoints, failing over across its URLs. */
export interface SignedClient {
  /**
   * Sends `request`, signed anew for every attempt (a verifier accepts each
   * nonce once), to the web process that answered last, then to the others
   * in turn, until one answers 200 with JSON that `read` accepts (`read`
   * throws to refuse an answer, which moves on to the next URL). Rejects with
   * `WebTierUnavailableError` when none did.
   */
  request<T>(request: SignedRequest, read: (json: unknown) => T): Promise<T>;
  /** Closes the keep-alive pools. */
  close(): Promise<void>;
}

/** Thrown when no web URL gave a usable answer. */
export class WebTierUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebTierUnavailableError';
  }
}

/** Builds a `SignedClient` over one undici keep-alive pool per URL. */
export function createSignedClient(options: SignedClientOptions): SignedClient {
  if (options.urls.length === 0) throw new Error('at least one web URL is needed');
  const timeoutMs = options.timeoutMs ?? 2000;
  const pools = options.urls.map((url) => new Pool(new URL(url).origin, {
    connections: options.connections ?? 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  }));
  // Index of the URL that answered last: stick with a working one, move on after a failure.
  let preferred = 0;

  async function attempt<T>(pool: Pool, request: SignedRequest, read: (json: unknown) => T): Promise<T> {
    const body = request.body ?? '';
    const headers: Record<string, string> = {
      ...signRequest(options.secret, { method: request.method, path: request.path, body }),
      accept: 'application/json',
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const answer = await pool.request({
      method: request.method,
      path: request.path,
      headers,
      ...(request.body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (answer.statusCode !== 200) {
      await answer.body.dump();
      throw new Error(`answered ${answer.statusCode}`);
    }
    return read(await answer.body.json());
  }

  return {
    async request(request, read) {
      let lastError = 'no web URL';
      for (let tried = 0; tried < pools.length; tried++) {
        const index = (preferred + tried) % pools.length;
        try {
          const result = await attempt(pools[index] as Pool, request, read);
          preferred = index;
          return result;
        } catch (error) {
          lastError = `${options.urls[index] ?? ''}: ${(error as Error).message}`;
          options.log?.warn({ ...request.logFields, url: options.urls[index] ?? '', err: error }, 'web tier request failed');
        }
      }
      throw new WebTierUnavailableError(`web tier unavailable: ${lastError}`);
    },
    async close() {
      await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
    },
  };
}
