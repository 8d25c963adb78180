import type { ObserveAnswer, ErrorBody } from '@parley/protocol';
import { ParleyError, parseRetryAfter } from './errors.js';

/** One long-poll: asks for events after `rooms` (a cursor), resolves with the answer. */
export type ObserveTransport = (rooms: string, waitSeconds: number, signal: AbortSignal) => Promise<ObserveAnswer>;

/** Options shared by both transports. */
export interface TransportOptions {
  /** Origin of the Parley deployment. @default '' (same origin) */
  baseUrl?: string;
  /**
   * An observe ticket (`POST /api/observe-ticket`), sent as `?ticket=`: how a
   * third-party page reads a private room. Never a session token: a URL gets
   * logged, and the server refuses `?session=` (400 `session_in_url`). Omit
   * for the cookie (same origin) or anonymous reads of public rooms.
   */
  ticket?: string;
}

// Seconds a poll may take beyond its hold before it counts as lost: nginx,
// a slow network, and the chatserver's own jitter fit well inside.
const POLL_MARGIN_SECONDS = 15;

function observeUrl(options: TransportOptions, rooms: string, waitSeconds: number, extra?: Record<string, string>): string {
  const query = new URLSearchParams({ rooms, wait: String(waitSeconds), ...extra });
  if (options.ticket !== undefined) query.set('ticket', options.ticket);
  return `${(options.baseUrl ?? '').replace(/\/+$/, '')}/api/observe?${query}`;
}

/** XHR long-poll over `fetch` (same origin, or any origin: observe answers `Access-Control-Allow-Origin: *`). */
export function fetchTransport(options: TransportOptions = {}): ObserveTransport {
  return async (rooms, waitSeconds, signal) => {
    // A silently dead connection (a laptop that changed networks) would hang
    // forever: give up after the hold plus a margin for nginx and the network.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), (waitSeconds + POLL_MARGIN_SECONDS) * 1000);
    const onAbort = (): void => timeout.abort();
    signal.addEventListener('abort', onAbort);
    if (signal.aborted) timeout.abort();
    try {
      let response: Response;
      try {
        response = await fetch(observeUrl(options, rooms, waitSeconds), {
          credentials: options.baseUrl ? 'omit' : 'same-origin',
          signal: timeout.signal,
          headers: { accept: 'application/json' },
        });
      } catch (error) {
        throw failure(signal, timeout.signal, error);
      }
      let body: (ObserveAnswer & Partial<ErrorBody>) | undefined;
      try {
        body = (await response.json()) as ObserveAnswer & Partial<ErrorBody>;
      } catch (error) {
        if (timeout.signal.aborted) throw failure(signal, timeout.signal, error);
        body = undefined;
      }
      if (!response.ok || body === undefined || body.error !== undefined) {
        throw new ParleyError(
          body?.error?.code ?? (response.status >= 500 || response.ok ? 'internal' : 'invalid_body'),
          response.status,
          body?.error?.message ?? `HTTP ${response.status}`,
          parseRetryAfter(response.headers.get('retry-after')),
        );
      }
      return body;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  };
}

/** The error of a fetch that failed: our timeout, the caller's abort, or the network. */
function failure(callerSignal: AbortSignal, timeoutSignal: AbortSignal, error: unknown): ParleyError {
  if (timeoutSignal.aborted && !callerSignal.aborted) return new ParleyError('timeout', 0, 'observe timed out');
  return new ParleyError('network', 0, String(error));
}

let jsonpCounter = 0;

/**
 * JSONP long-poll through a `<script>` element: works from any site, sends no
 * cookies' worth of authority (observe never changes state). A script cannot
 * be aborted, so an aborted poll is only abandoned: its answer is ignored.
 */
export function jsonpTransport(options: TransportOptions = {}): ObserveTransport {
  return (rooms, waitSeconds, signal) =>
    new Promise<ObserveAnswer>((resolve, reject) => {
      const name = `__parleyObserve${Date.now().toString(36)}_${++jsonpCounter}`;
      const registry = globalThis as unknown as Record<string, unknown>;
      const script = document.createElement('script');
      // Long enough for the server's hold plus nginx and a slow network.
      const timer = setTimeout(() => finish(new ParleyError('timeout', 0, 'observe timed out')), (waitSeconds + POLL_MARGIN_SECONDS) * 1000);
      const finish = (outcome: ObserveAnswer | ParleyError): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        script.remove();
        // Leave a no-op behind: a late answer must not throw a ReferenceError.
        registry[name] = () => {
          delete registry[name];
        };
        if (outcome instanceof ParleyError) reject(outcome);
        else resolve(outcome);
      };
      const onAbort = (): void => finish(new ParleyError('network', 0, 'aborted'));
      registry[name] = (answer: ObserveAnswer & Partial<ErrorBody>) => {
        if (answer.error !== undefined) finish(new ParleyError(answer.error.code, 400, answer.error.message));
        else finish(answer);
      };
      script.onerror = () => finish(new ParleyError('network', 0, 'observe script failed to load'));
      signal.addEventListener('abort', onAbort);
      script.async = true;
      script.src = observeUrl(options, rooms, waitSeconds, { callback: name });
      document.head.appendChild(script);
    });
}
