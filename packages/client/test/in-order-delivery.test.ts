import { expect } from 'chai';
import type { ChatEvent } from '@parley/protocol';
import { ParleyError } from '../src/errors.js';
import { InOrderDelivery, type HistoryReader } from '../src/in-order-delivery.js';

function message(room: string, seq: number): ChatEvent {
  return { room, seq, type: 'message', at: 1_700_000_000_000 + seq, nickname: 'alice', user: null, text: `m${seq}`, id: `${room}-${seq}` };
}

function range(room: string, from: number, to: number): ChatEvent[] {
  const events: ChatEvent[] = [];
  for (let seq = from; seq <= to; seq++) events.push(message(room, seq));
  return events;
}

/** A room history as the web tier answers it: events after `after`, ascending, at most `limit`. */
function historyOf(events: ChatEvent[], calls: Array<[string, number, number]> = []): HistoryReader {
  return async (room, after, limit) => {
    calls.push([room, after, limit]);
    return events.filter((event) => event.room === room && event.seq > after).slice(0, limit);
  };
}

async function until(probe: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('InOrderDelivery', () => {
  it('hands on events after the cursor once, dropping repeats', () => {
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)) });
    delivery.cursor.set('lobby', 2);
    delivery.deliver(range('lobby', 1, 4));
    delivery.deliver(range('lobby', 3, 5));
    expect(seen).to.deep.equal([3, 4, 5]);
    expect(delivery.cursor.get('lobby')).to.equal(5);
  });

  it('takes anything for a room watched from now, and ignores rooms not watched', () => {
    const seen: string[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => `${event.room}:${event.seq}`)) });
    delivery.cursor.set('lobby', null);
    delivery.deliver([...range('lobby', 7, 8), ...range('dev', 1, 2)]);
    expect(seen).to.deep.equal(['lobby:7', 'lobby:8']);
  });

  it('reads a hole from history before handing on the events after it', async () => {
    const all = range('lobby', 1, 10);
    const calls: Array<[string, number, number]> = [];
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history: historyOf(all, calls) });
    delivery.cursor.set('lobby', 3);
    delivery.deliver(range('lobby', 7, 8));
    await until(() => seen.length === 5);
    expect(seen).to.deep.equal([4, 5, 6, 7, 8]);
    expect(calls).to.deep.equal([['lobby', 3, 3]]);
  });

  it('keeps events that arrive during a fill behind it, in order', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const history: HistoryReader = async (room, after, limit) => {
      await gate;
      return range(room, after + 1, after + limit);
    };
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history });
    delivery.cursor.set('lobby', 1);
    delivery.deliver(range('lobby', 4, 4));
    delivery.deliver(range('lobby', 5, 6));
    delivery.deliver(range('lobby', 4, 5));
    expect(seen).to.deep.equal([]);
    release();
    await until(() => seen.length === 5);
    expect(seen).to.deep.equal([2, 3, 4, 5, 6]);
  });

  it('hands on what precedes a hole at once', async () => {
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history: historyOf(range('lobby', 1, 9)) });
    delivery.cursor.set('lobby', 1);
    delivery.deliver([...range('lobby', 2, 3), ...range('lobby', 6, 6)]);
    expect(seen).to.deep.equal([2, 3]);
    await until(() => seen.length === 5);
    expect(seen).to.deep.equal([2, 3, 4, 5, 6]);
  });

  it('retries a fill that failed for a retryable reason', async () => {
    let attempts = 0;
    const history: HistoryReader = async (room, after, limit) => {
      attempts++;
      if (attempts === 1) throw new ParleyError('network', 0, 'offline');
      return range(room, after + 1, after + limit);
    };
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history, minRetryMs: 1 });
    delivery.cursor.set('lobby', 0);
    delivery.deliver(range('lobby', 3, 3));
    await until(() => seen.length === 3);
    expect(seen).to.deep.equal([1, 2, 3]);
    expect(attempts).to.equal(2);
  });

  it('waits at least the Retry-After of a 429 before retrying a fill', async () => {
    const attemptsAt: number[] = [];
    const history: HistoryReader = async (room, after, limit) => {
      attemptsAt.push(Date.now());
      if (attemptsAt.length === 1) throw new ParleyError('rate_limited', 429, 'slow down', 1);
      return range(room, after + 1, after + limit);
    };
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history, minRetryMs: 1 });
    delivery.cursor.set('lobby', 0);
    delivery.deliver(range('lobby', 2, 2));
    await until(() => seen.length === 2, 5000);
    expect(attemptsAt).to.have.length(2);
    expect((attemptsAt[1] as number) - (attemptsAt[0] as number)).to.be.at.least(990);
  });

  it('skips a hole the server refuses for good instead of stalling the room', async () => {
    const history: HistoryReader = async () => {
      throw new ParleyError('room_not_found', 404, 'gone');
    };
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history });
    delivery.cursor.set('lobby', 0);
    delivery.deliver(range('lobby', 3, 4));
    await until(() => seen.length === 2);
    expect(seen).to.deep.equal([3, 4]);
  });

  it('drops a fill of a room unwatched meanwhile', async () => {
    const seen: number[] = [];
    const delivery = new InOrderDelivery({ onEvents: (events) => seen.push(...events.map((event) => event.seq)), history: historyOf(range('lobby', 1, 9)) });
    delivery.cursor.set('lobby', 0);
    delivery.deliver(range('lobby', 5, 5));
    delivery.cursor.delete('lobby');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).to.deep.equal([]);
    expect(delivery.cursor.has('lobby')).to.equal(false);
  });
});
