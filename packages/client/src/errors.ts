import type { ErrorCode } from '@parley/protocol';

/** An error answer of the Parley API, or a transport failure (`status` 0, code `network`). */
export class ParleyError extends Error {
  readonly code: ErrorCode | 'network' | 'timeout';
  readonly status: number;
  /** Seconds the server asked us to wait (`Retry-After`), if it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ParleyError['code'], status: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Worth retrying unchanged: the network, a timeout, a 5xx or a 429. Other 4xx are final. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** Parses `Retry-After` given in seconds (the only form Parley sends). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value)) return undefined;
  return Number(value);
}
