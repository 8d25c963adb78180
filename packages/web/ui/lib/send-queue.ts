import { ParleyError } from '@parley/client';

/** Where a message of the queue is: on its way, waiting to be sent again by itself, or refused for good. */
export type OutgoingState = 'sending' | 'waiting' | 'failed';

/** A message to send; resending it with the same `clientId` stores it once. */
export interface Outgoing {
  readonly clientId: string;
  readonly text: string;
}

/** What the queue needs from its room. */
export interface SendQueueOptions<T extends Outgoing> {
  /** Sends one message (the API's `say`); throws a `ParleyError` when it was not stored. */
  send(message: T): Promise<void>;
  /** `message` is now in `state`; `reason` says why it waits or failed, for people. */
  stateChanged(message: T, state: OutgoingState, reason: string): void;
}

// After a dropped connection or a 5xx, try again after 1, 2, 4 … s, at most
// every 30 s; the return of the connection (`resume`) does not wait for it.
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** A 429 without Retry-After (Parley always sends one): the rate window is a minute, try in a few seconds. */
const DEFAULT_RATE_LIMIT_WAIT_S = 5;
const WAITING_BEHIND = 'waits for the messages before it';

/**
 * The messages of one room that are not stored yet, sent one at a time in the
 * order they were written. A message that failed because the connection was
 * down (or the server was briefly unwell) waits at the head and is sent again,
 * with the same clientId, when `resume` says the connection is back or after a
 * backoff; after a 429 the queue waits the `Retry-After` seconds. A refusal
 * for good (another 4xx) marks only that message failed; the rest go on.
 */
export class SendQueue<T extends Outgoing> {
  private readonly queue: T[] = [];
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** The server asked us to wait (429): the connection coming back changes nothing. */
  private rateLimited = false;
  /**
   * `resume` came while a send was on its way: if that send fails (it began
   * before the connection was back), try again at once, not after the backoff.
   */
  private resumedDuringSend = false;

  constructor(private readonly options: SendQueueOptions<T>) {}

  /** Queues a new message at the end and sends it when its turn comes. */
  add(message: T): void {
    this.queue.push(message);
    if (this.timer === undefined) this.options.stateChanged(message, 'sending', '');
    else this.options.stateChanged(message, 'waiting', WAITING_BEHIND);
    void this.pump();
  }

  /** Queues a failed message again (a person asked for it): it goes at the end. */
  retry(message: T): void {
    if (!this.queue.includes(message)) this.add(message);
  }

  /** The connection is back: send what waits now instead of after the backoff. */
  resume(): void {
    if (this.rateLimited) return;
    if (this.timer === undefined) {
      if (this.busy) this.resumedDuringSend = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.pump();
  }

  /** Messages not stored yet, oldest first. */
  get waiting(): readonly T[] {
    return this.queue;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.timer !== undefined) return;
    this.busy = true;
    try {
      for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
        this.options.stateChanged(head, 'sending', '');
        this.resumedDuringSend = false;
        try {
          await this.options.send(head);
          this.failures = 0;
          this.queue.shift();
        } catch (error) {
          if (!(error instanceof ParleyError) || !error.retryable) {
            this.queue.shift();
            this.options.stateChanged(head, 'failed', reason(error));
            continue;
          }
          this.wait(head, error);
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Marks the head (and everything behind it) waiting and schedules the next try. */
  private wait(head: T, error: ParleyError): void {
    let waitMs: number;
    let why: string;
    this.rateLimited = error.status === 429;
    if (error.status === 429) {
      const seconds = error.retryAfterSeconds ?? DEFAULT_RATE_LIMIT_WAIT_S;
      waitMs = seconds * 1000;
      why = `too many messages: sending again in ${seconds} s`;
    } else {
      waitMs = this.resumedDuringSend ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
      this.failures++;
      why = error.status === 0 ? 'no connection: will send when it is back' : 'the server is busy: will send again shortly';
    }
    for (const message of this.queue) this.options.stateChanged(message, 'waiting', message === head ? why : WAITING_BEHIND);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rateLimited = false;
      void this.pump();
    }, waitMs);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
