import { NOTIFY_PATH, type ChatEvent, type Logger, type NotifyBody } from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import { Pool } from 'undici';
import { mergeEvents } from './merge-events.js';
import { NotifyError, isRetryableStatus } from './notify-error.js';

/** Options of `createChatserverClient`. */
export interface ChatserverClientOptions {
  /** HMAC secret the notify POSTs are signed with (`PARLEY_SECRET`). */
  secret: string;
  /** Connect, headers and body timeout of one POST (`PARLEY_NOTIFY_TIMEOUT_MS`). @default 2000 */
  timeoutMs?: number;
  log: Logger;
  /**
   * Keep-alive connections per chatserver. Only one POST per chatserver is in
   * flight at a time (later sends batch behind it), so a few spare sockets are
   * enough to survive one being reset.
   * @default 4
   */
  connections?: number;
  /** Most events one POST carries when batching several sends. @default 1000 */
  maxBatchEvents?: number;
  /**
   * Most bytes of serialized events one POST carries, well under the
   * chatserver's 1 MiB notify body limit (a refused 413 is not retried). A send
   * larger than this is split over several POSTs; only a single event larger
   * than this (impossible with 2000-character texts) travels alone.
   * @default 524288 (512 KiB)
   */
  maxBatchBytes?: number;
  /**
   * A chatserver's pool is closed when its URL has not been live (seen in the
   * registry or sent to) for this long: chatservers come and go, pools must not pile up.
   * @default 60000
   */
  idleCloseMs?: number;
}

/** POSTs notifications to chatservers over one keep-alive pool per chatserver. */
export interface ChatserverClient {
  /**
   * Sends `events` in a signed `POST {url}/internal/notify`. Resolves when the
   * POST that carried them was answered 2xx; rejects with a `NotifyError`
   * otherwise. While a POST to `url` is in flight, further sends wait and
   * travel together in the next POST.
   */
  send(url: string, events: readonly ChatEvent[]): Promise<void>;
  /** Notes that `urls` are live at `now`, and closes the pools of URLs that have not been for `idleCloseMs`. */
  markLive(urls: readonly string[], now?: number): void;
  /** URLs that currently have a pool (for tests and diagnostics). */
  openUrls(): string[];
  /** Closes every pool; in-flight POSTs finish (each is bounded by the timeout). */
  close(): Promise<void>;
}

interface PendingSend {
  events: readonly ChatEvent[];
  /** Serialized size of `events` in a notify body (commas included). */
  bytes: number;
  resolve: () => void;
  reject: (error: NotifyError) => void;
}

interface Target {
  url: string;
  /** Path and query as sent and signed: the URL's own path plus `/internal/notify`. */
  path: string;
  pool: Pool;
  lastLiveAt: number;
  inFlight: boolean;
  queue: PendingSend[];
}

/** Builds a `ChatserverClient`. */
export function createChatserverClient(options: ChatserverClientOptions): ChatserverClient {
  const timeoutMs = options.timeoutMs ?? 2000;
  const connections = options.connections ?? 4;
  const maxBatchEvents = options.maxBatchEvents ?? 1000;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  const log = options.log;
  const targets = new Map<string, Target>();
  let closed = false;

  // Also sweeps when no job arrives at all (the registry is then not read).
  const sweepTimer = setInterval(() => sweep(Date.now()), Math.max(1000, idleCloseMs / 4));
  sweepTimer.unref();

  function targetFor(url: string, now: number): Target {
    const existing = targets.get(url);
    if (existing !== undefined) return existing;
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not an http(s) URL');
    const target: Target = {
      url,
      path: `${parsed.pathname.replace(/\/+$/, '')}${NOTIFY_PATH}`,
      pool: new Pool(parsed.origin, {
        connections,
        pipelining: 1,
        connectTimeout: timeoutMs,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      }),
      lastLiveAt: now,
      inFlight: false,
      queue: [],
    };
    targets.set(url, target);
    log.info({ url }, 'chatserver pool opened');
    return target;
  }

  function sweep(now: number): void {
    for (const target of targets.values()) {
      if (target.inFlight || target.queue.length > 0 || now - target.lastLiveAt < idleCloseMs) continue;
      targets.delete(target.url);
      log.info({ url: target.url }, 'chatserver pool closed: not live for a while');
      target.pool.close().catch((error: unknown) => {
        log.warn({ url: target.url, err: error }, 'chatserver pool close failed');
      });
    }
  }

  /**
   * Cuts the events of one send into pieces of at most `maxBatchEvents` events
   * and `maxBatchBytes` serialized bytes (a piece holds at least one event), so
   * no POST can outgrow the chatserver's body limit however big a job is.
   */
  function piecesOf(events: readonly ChatEvent[]): Array<Pick<PendingSend, 'events' | 'bytes'>> {
    const pieces: Array<Pick<PendingSend, 'events' | 'bytes'>> = [];
    let current: ChatEvent[] = [];
    let bytes = 0;
    for (const event of events) {
      const size = Buffer.byteLength(JSON.stringify(event)) + 1;
      if (current.length > 0 && (current.length >= maxBatchEvents || bytes + size > maxBatchBytes)) {
        pieces.push({ events: current, bytes });
        current = [];
        bytes = 0;
      }
      current.push(event);
      bytes += size;
    }
    if (current.length > 0) pieces.push({ events: current, bytes });
    return pieces;
  }

  /** Takes queued sends up to `maxBatchEvents` events and `maxBatchBytes` bytes, but always at least one send. */
  function takeBatch(queue: PendingSend[]): PendingSend[] {
    let count = 0;
    let bytes = 0;
    let taken = 0;
    while (taken < queue.length) {
      const next = queue[taken];
      if (next === undefined) break;
      if (taken > 0 && (count + next.events.length > maxBatchEvents || bytes + next.bytes > maxBatchBytes)) break;
      count += next.events.length;
      bytes += next.bytes;
      taken++;
    }
    return queue.splice(0, taken);
  }

  async function post(target: Target, events: ChatEvent[]): Promise<NotifyError | undefined> {
    const body = JSON.stringify({ events } satisfies NotifyBody);
    const headers = {
      'content-type': 'application/json',
      ...signRequest(options.secret, { method: 'POST', path: target.path, body }),
    };
    // undici's own timeouts run on a coarse clock (a 200 ms headersTimeout fired
    // after ~1 s here); the signal holds the whole POST to its deadline.
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await target.pool.request({ method: 'POST', path: target.path, headers, body, signal });
      // The answer carries nothing we need; reading it frees the connection for
      // reuse. A notify answer is tiny: past 64 KiB the socket is dropped instead.
      await response.body.dump({ limit: 64 * 1024, signal });
      const status = response.statusCode;
      if (status >= 200 && status < 300) return undefined;
      return new NotifyError(target.url, `chatserver answered ${status}`, { status, retryable: isRetryableStatus(status) });
    } catch (error) {
      const { code, name } = error as { code?: unknown; name?: unknown };
      const reason = typeof code === 'string' ? code : name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : String(error);
      return new NotifyError(target.url, `chatserver unreachable: ${reason}`, { retryable: true, cause: error });
    }
  }

  /** Sends the queue of `target` one POST at a time until it is empty. */
  async function drain(target: Target): Promise<void> {
    target.inFlight = true;
    try {
      for (;;) {
        const batch = takeBatch(target.queue);
        if (batch.length === 0) break;
        let failure: NotifyError | undefined;
        try {
          failure = await post(target, mergeEvents(batch.map((pending) => pending.events)));
        } catch (error) {
          // Only unserializable events get here; every caller must still settle.
          failure = new NotifyError(target.url, `notify not sent: ${String(error)}`, { retryable: false, cause: error });
        }
        for (const pending of batch) {
          if (failure === undefined) pending.resolve();
          else pending.reject(failure);
        }
      }
    } finally {
      target.inFlight = false;
    }
  }

  return {
    send(url, events) {
      if (closed) return Promise.reject(new NotifyError(url, 'chatserver client closed', { retryable: true }));
      const now = Date.now();
      let target: Target;
      try {
        target = targetFor(url, now);
      } catch (error) {
        return Promise.reject(
          new NotifyError(url, `invalid chatserver URL: ${(error as Error).message}`, { retryable: false, cause: error }),
        );
      }
      target.lastLiveAt = now;
      const sent = piecesOf(events).map(
        (piece) =>
          new Promise<void>((resolve, reject) => {
            target.queue.push({ ...piece, resolve, reject });
          }),
      );
      // Nothing in flight: go now, so at low load nothing waits for a batch to fill.
      if (!target.inFlight) void drain(target);
      // Settles once every piece has (a failed piece rejects the send; the job retries all of it).
      return Promise.all(sent).then(() => undefined);
    },

    markLive(urls, now = Date.now()) {
      for (const url of urls) {
        const target = targets.get(url);
        if (target !== undefined) target.lastLiveAt = now;
      }
      sweep(now);
    },

    openUrls() {
      return [...targets.keys()];
    },

    async close() {
      closed = true;
      clearInterval(sweepTimer);
      const closing = [...targets.values()].map((target) => target.pool.close());
      targets.clear();
      await Promise.allSettled(closing);
    },
  };
}
