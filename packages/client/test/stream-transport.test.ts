import { expect } from 'chai';
import type { ChatEvent, ObserveAnswer } from '@parley/protocol';
import { streamTransport, type EventSourceLike } from '../src/stream-transport.js';
import type { ObserveTransport } from '../src/transports.js';

function message(room: string, seq: number): ChatEvent {
  return { room, seq, type: 'message', at: 1_700_000_000_000 + seq, nickname: 'bob', user: null, text: `m${seq}`, id: `${room}-${seq}` };
}

/** A stand-in EventSource the test drives: what the server would send, by hand. */
class FakeSource implements EventSourceLike {
  static opened: FakeSource[] = [];
  readyState = 0;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private readyListener: ((event: MessageEvent<string>) => void) | undefined;

  constructor(readonly url: string) {
    FakeSource.opened.push(this);
  }

  addEventListener(_type: 'ready', listener: (event: MessageEvent<string>) => void): void {
    this.readyListener = listener;
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  ready(cursor: string): void {
    this.readyState = 1;
    this.readyListener?.({ data: JSON.stringify({ cursor }), lastEventId: cursor } as MessageEvent<string>);
  }

  send(event: ChatEvent, id: string): void {
    this.onmessage?.({ data: JSON.stringify(event), lastEventId: id } as MessageEvent<string>);
  }

  refuse(): void {
    this.readyState = 2;
    this.onerror?.({} as Event);
  }
}

function recordingFallback(): { transport: ObserveTransport; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    transport: (rooms) => {
      asked.push(rooms);
      return Promise.resolve({ events: [], cursor: rooms.includes(':') ? rooms : `${rooms}:0` });
    },
  };
}

const never = new AbortController().signal;

describe('streamTransport', () => {
  beforeEach(() => {
    FakeSource.opened = [];
  });

  it('answers a hold of 0 when the stream is ready, then hands on events from the same stream, in order', async () => {
    const fallback = recordingFallback();
    const transport = streamTransport({ fallback: fallback.transport, EventSource: FakeSource, ticket: 'lobby.1.sig' });
    const first = transport('lobby', 0, never);
    const source = FakeSource.opened[0] as FakeSource;
    expect(source.url).to.equal('/api/observe/stream?rooms=lobby&ticket=lobby.1.sig');
    source.ready('lobby:4');
    expect(await first).to.deep.equal({ events: [], cursor: 'lobby:4' });
    // Events that arrive between two calls wait for the next one.
    source.send(message('lobby', 5), 'lobby:5');
    source.send(message('lobby', 6), 'lobby:6');
    const second: ObserveAnswer = await transport('lobby:4', 25, never);
    expect(second).to.deep.equal({ events: [message('lobby', 5), message('lobby', 6)], cursor: 'lobby:6' });
    const third = transport('lobby:6', 25, never);
    source.send(message('lobby', 7), 'lobby:7');
    expect(await third).to.deep.equal({ events: [message('lobby', 7)], cursor: 'lobby:7' });
    expect(FakeSource.opened).to.have.length(1);
    expect(fallback.asked).to.deep.equal([]);
  });

  it('opens a new stream when the cursor changes (a room watched)', async () => {
    const transport = streamTransport({ fallback: recordingFallback().transport, EventSource: FakeSource });
    const first = transport('lobby', 0, never);
    (FakeSource.opened[0] as FakeSource).ready('lobby:4');
    await first;
    const second = transport('lobby:4,dev', 0, never);
    expect(FakeSource.opened[0]?.closed).to.equal(true);
    const next = FakeSource.opened[1] as FakeSource;
    expect(next.url).to.equal('/api/observe/stream?rooms=lobby%3A4%2Cdev');
    next.ready('lobby:4,dev:9');
    expect(await second).to.deep.equal({ events: [], cursor: 'lobby:4,dev:9' });
  });

  it('falls back to the long-poll for good when the first event does not come in time (a buffering proxy)', async () => {
    const fallback = recordingFallback();
    const transport = streamTransport({ fallback: fallback.transport, EventSource: FakeSource, firstEventMs: 30 });
    expect(await transport('lobby', 0, never)).to.deep.equal({ events: [], cursor: 'lobby:0' });
    expect(FakeSource.opened[0]?.closed).to.equal(true);
    expect(await transport('lobby:0', 25, never)).to.deep.equal({ events: [], cursor: 'lobby:0' });
    expect(fallback.asked).to.deep.equal(['lobby', 'lobby:0']);
    expect(FakeSource.opened).to.have.length(1);
  });

  it('lets the long-poll answer a call whose stream was refused, and tries the stream again', async () => {
    const fallback = recordingFallback();
    const transport = streamTransport({ fallback: fallback.transport, EventSource: FakeSource });
    const first = transport('lobby:3', 0, never);
    (FakeSource.opened[0] as FakeSource).refuse();
    expect(await first).to.deep.equal({ events: [], cursor: 'lobby:3' });
    const second = transport('lobby:3', 0, never);
    (FakeSource.opened[1] as FakeSource).ready('lobby:3');
    expect(await second).to.deep.equal({ events: [], cursor: 'lobby:3' });
    expect(fallback.asked).to.deep.equal(['lobby:3']);
  });

  it('uses the fallback where there is no EventSource', async () => {
    const fallback = recordingFallback();
    const transport = streamTransport({ fallback: fallback.transport });
    expect(await transport('lobby', 0, never)).to.deep.equal({ events: [], cursor: 'lobby:0' });
    expect(fallback.asked).to.deep.equal(['lobby']);
  });
});

describe('streamTransport, offline and aborted', () => {
  beforeEach(() => {
    FakeSource.opened = [];
  });

  it('closes the stream when its call is aborted, and opens a new one for the next call', async () => {
    const transport = streamTransport({ fallback: recordingFallback().transport, EventSource: FakeSource });
    const first = transport('lobby', 0, never);
    (FakeSource.opened[0] as FakeSource).ready('lobby:4');
    await first;
    const abort = new AbortController();
    const parked = transport('lobby:4', 25, abort.signal);
    abort.abort();
    let failure: unknown;
    await parked.catch((error: unknown) => {
      failure = error;
    });
    expect((failure as Error).message).to.equal('aborted');
    expect(FakeSource.opened[0]?.closed).to.equal(true);
    const next = transport('lobby:4', 0, never);
    expect(FakeSource.opened).to.have.length(2);
    (FakeSource.opened[1] as FakeSource).ready('lobby:4');
    expect(await next).to.deep.equal({ events: [], cursor: 'lobby:4' });
  });
});
