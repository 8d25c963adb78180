// A JSONP GET for the badge's read-only requests (room detail, latest
// events): a <script> works from any site, and the web tier ignores cookies
// on JSONP, so a badge never acts as the visitor.

/** Bound on one JSONP GET: the web tier answers reads at once, so this only catches a dead network. */
export const JSONP_TIMEOUT_MS = 15_000;

/** An answer body of the API: the value asked for, or the API's error shape. */
export type ApiAnswer<T> = T | { error: { code: string; message: string } };

let requestCounter = 0;

/** True when `answer` is the API's error shape. */
export function isApiError<T>(answer: ApiAnswer<T>): answer is { error: { code: string; message: string } } {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

/**
 * Loads `url` with `callback=NAME` as a script and resolves with the answer
 * body (API errors included: a JSONP answer is always status 200). Rejects on
 * a network failure or after `timeoutMs`. The callback is the only global,
 * removed once it ran; after a failure a no-op stays behind so a late answer
 * cannot throw.
 */
export function jsonpGet<T>(url: string, timeoutMs = JSONP_TIMEOUT_MS): Promise<ApiAnswer<T>> {
  return new Promise((resolve, reject) => {
    const name = `__parleyBadge${Date.now().toString(36)}_${++requestCounter}`;
    const callbacks = window as unknown as Record<string, (answer: ApiAnswer<T>) => void>;
    const script = document.createElement('script');
    const timer = setTimeout(() => fail('timed out'), timeoutMs);
    const settle = (): void => {
      clearTimeout(timer);
      script.remove();
    };
    const fail = (why: string): void => {
      settle();
      callbacks[name] = () => {
        delete callbacks[name];
      };
      reject(new Error(`${why}: ${url}`));
    };
    callbacks[name] = (answer) => {
      settle();
      delete callbacks[name];
      resolve(answer);
    };
    script.onerror = () => fail('failed to load');
    script.async = true;
    script.src = `${url}${url.includes('?') ? '&' : '?'}callback=${name}`;
    document.head.appendChild(script);
  });
}
