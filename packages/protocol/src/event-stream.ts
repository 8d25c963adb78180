/**
 * The EventSource (`text/event-stream`) codec: what `GET /api/observe/stream`
 * writes, read the way a browser's `EventSource` reads it (WHATWG HTML
 * §9.2.6), for Node clients — the load generator, the tests — that have no
 * `EventSource`.
 */

/** One dispatched message of an event stream. */
export interface EventStreamMessage {
  /** The `event:` field; `message` when absent. */
  readonly event: string;
  /** The last event id after this message (what a reconnect sends as `Last-Event-ID`). */
  readonly id: string;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
}

/**
 * Incremental parser: feed it chunks as they arrive, get the messages they
 * complete. Comments (`:` lines, the heartbeats) are counted, not returned.
 */
export class EventStreamParser {
  /** Last event id seen (kept across messages, as a browser does). */
  lastEventId = '';
  /** The `retry:` delay last announced, ms. */
  retryMs: number | undefined;
  /** Comment lines seen. */
  comments = 0;
  private pending = '';
  private data: string[] = [];
  private event = '';

  /** Parses `chunk` (text: decode bytes with a streaming UTF-8 decoder first). */
  push(chunk: string): EventStreamMessage[] {
    const text = this.pending + chunk;
    const messages: EventStreamMessage[] = [];
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n', start);
      const cr = text.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // A CR at the end of the chunk may be the first half of CRLF: wait for more.
        if (cr === text.length - 1) break;
        end = cr;
        next = text[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf >= 0) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const message = this.line(text.slice(start, end));
      if (message !== undefined) messages.push(message);
      start = next;
    }
    this.pending = text.slice(start);
    return messages;
  }

  private line(line: string): EventStreamMessage | undefined {
    if (line === '') {
      const data = this.data;
      const event = this.event;
      this.data = [];
      this.event = '';
      if (data.length === 0) return undefined;
      return { event: event === '' ? 'message' : event, id: this.lastEventId, data: data.join('\n') };
    }
    if (line.startsWith(':')) {
      this.comments++;
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
