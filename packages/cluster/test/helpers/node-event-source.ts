import { EventStreamParser } from '@parley/protocol';
import type { EventSourceLike } from '@parley/client';

// EventSource.readyState values.
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
/** A browser's reconnect pause before the server announced one (`retry:`). */
const DEFAULT_RETRY_MS = 3000;

/** The event the client's handlers take (the DOM's `MessageEvent<string>`). */
type StreamMessageEvent = Parameters<NonNullable<EventSourceLike['onmessage']>>[0];

/**
 * The browser's `EventSource` as far as `streamTransport` uses it, over
 * Node's `fetch`, so cluster tests run the real client's stream path: it
 * dispatches `message` and named events, and when the connection ends or
 * breaks it reconnects after the announced `retry:` with `Last-Event-ID`; an
 * answer that is not a stream (an error status) closes it for good, as a
 * browser does. Node 20 has no `EventSource` of its own.
 */
export class NodeEventSource implements EventSourceLike {
  readyState = CONNECTING;
  onmessage: ((event: StreamMessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  private readonly listeners = new Map<string, Array<(event: StreamMessageEvent) => void>>();
  private readonly controller = new AbortController();
  private lastEventId = '';
  private retryMs = DEFAULT_RETRY_MS;

  constructor(readonly url: string) {
    void this.run();
  }

  addEventListener(type: string, listener: (event: StreamMessageEvent) => void): void {
    const known = this.listeners.get(type) ?? [];
    known.push(listener);
    this.listeners.set(type, known);
  }

  close(): void {
    this.readyState = CLOSED;
    this.controller.abort();
  }

  private async run(): Promise<void> {
    while (this.readyState !== CLOSED) {
      const opened = await this.readOnce();
      if (this.readyState === CLOSED) return;
      if (!opened) {
        this.readyState = CLOSED;
        this.onerror?.(new Event('error'));
        return;
      }
      this.readyState = CONNECTING;
      this.onerror?.(new Event('error'));
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }

  /** One connection: false when the answer was not a stream (the browser gives up), true when a stream ended or broke. */
  private async readOnce(): Promise<boolean> {
    const parser = new EventStreamParser();
    parser.lastEventId = this.lastEventId;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.lastEventId !== '') headers['last-event-id'] = this.lastEventId;
      const response = await fetch(this.url, { headers, signal: this.controller.signal });
      if (response.status !== 200 || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        await response.body?.cancel();
        return false;
      }
      this.readyState = OPEN;
      const decoder = new TextDecoder();
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
          this.lastEventId = message.id;
          const event: StreamMessageEvent = new MessageEvent(message.event, { data: message.data, lastEventId: message.id });
          if (message.event === 'message') this.onmessage?.(event);
          else for (const listener of this.listeners.get(message.event) ?? []) listener(event);
          if (this.readyState === CLOSED) return true;
        }
        if (parser.retryMs !== undefined) this.retryMs = parser.retryMs;
      }
    } catch {
      // Aborted, refused or cut: a reconnect (or nothing, when closed).
    }
    this.lastEventId = parser.lastEventId;
    return true;
  }
}
