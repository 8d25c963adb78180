/**
 * Why one notify POST to one chatserver failed. `retryable` says whether
 * sending the same events again later may succeed (network error, timeout,
 * 5xx) or not (the chatserver refused the request: 4xx, misconfiguration).
 */
export class NotifyError extends Error {
  /** The chatserver's advertised base URL. */
  readonly url: string;
  /** The HTTP status when the chatserver answered, else undefined. */
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(url: string, message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NotifyError';
    this.url = url;
    this.status = options.status;
    this.retryable = options.retryable;
  }
}

/**
 * Is an HTTP answer with `status` worth retrying? 5xx are the chatserver's own
 * trouble (overloaded, restarting); 408 and 429 are transient by definition.
 * Every other non-2xx means the chatserver refused this request and will
 * refuse it again (bad secret, wrong URL, malformed body).
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
