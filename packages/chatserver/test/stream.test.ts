import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { ChatEvent } from '@parley/protocol';
import { openEventStream, type EventStreamReader } from '../../cluster/test/helpers/event-stream.js';
import { startChatFixture, startRedisFixture, waitFor, type ChatFixture, type RedisFixture } from './support/harness.js';

const seqs = (reader: EventStreamReader): number[] =>
  reader.messages.filter((message) => message.event === 'message').map((message) => (JSON.parse(message.data) as ChatEvent).seq);

describe('observe stream (EventSource)', () => {
  let redis: RedisFixture;
  let fixture: ChatFixture | undefined;
  const readers: EventStreamReader[] = [];

  before(async () => {
    redis = await startRedisFixture();
  });
  after(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.close();
    await fixture?.close();
    fixture = undefined;
  });

  async function open(url: string, headers: Record<string, string> = {}): Promise<EventStreamReader & { errorText?: string }> {
    const reader = await openEventStream(url, headers);
    readers.push(reader);
    return reader;
  }

  it('streams each event once, in order, with the cursor after it as id, after a ready event', async () => {
    fixture = await startChatFixture(redis.server.url);
    fixture.web.addMessages('lobby', 2);
    const reader = await open(fixture.streamUrl('rooms=lobby'));
    expect(reader.status).to.equal(200);
    expect(reader.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
    expect(reader.headers.get('cache-control')).to.equal('no-store');
    expect(reader.headers.get('x-accel-buffering')).to.equal('no');
    expect(reader.headers.get('access-control-allow-origin')).to.equal('*');
    await reader.until((r) => r.messages.length >= 1, 3000, 'the ready event');
    expect(reader.messages[0]).to.deep.equal({ event: 'ready', id: 'lobby:2', data: '{"cursor":"lobby:2"}' });
    await fixture.waitForParked(1);
    const first = fixture.web.addMessages('lobby', 2);
    expect(await fixture.notify(first)).to.equal(204);
    const second = fixture.web.addMessages('lobby', 1);
    expect(await fixture.notify(second)).to.equal(204);
    await reader.until((r) => seqs(r).length >= 3, 3000, 'three events');
    const events = reader.messages.slice(1);
    expect(events.map((message) => JSON.parse(message.data))).to.deep.equal([...first, ...second]);
    expect(events.map((message) => message.id)).to.deep.equal(['lobby:3', 'lobby:4', 'lobby:5']);
    // Still open and parked after delivering: one request carries many events.
    expect(reader.ended).to.equal(false);
    expect(fixture.chat.stats().openStreams).to.equal(1);
  });

  it('resumes exactly after Last-Event-ID, which wins over rooms, from the buffer or from the web tier', async () => {
    fixture = await startChatFixture(redis.server.url, { PARLEY_ROOM_BUFFER: '10' });
    // 30 events notified: the buffer of 10 holds 21..30 only.
    expect(await fixture.notify(fixture.web.addMessages('lobby', 30))).to.equal(204);
    expect(await fixture.notify(fixture.web.addMessages('dev', 3))).to.equal(204);
    const recent = await open(fixture.streamUrl('rooms=lobby:0'), { 'last-event-id': 'lobby:27,dev:1' });
    await recent.until((r) => seqs(r).length >= 5, 3000, 'events after the cursor');
    expect(recent.messages[0]?.id).to.equal('lobby:27,dev:1');
    expect(seqs(recent)).to.deep.equal([28, 29, 30, 2, 3]);
    expect(recent.messages.at(-1)?.id).to.equal('lobby:30,dev:3');
    const old = await open(fixture.streamUrl('rooms=lobby:29'), { 'last-event-id': 'lobby:4' });
    await old.until((r) => seqs(r).length >= 26, 3000, 'events from the web tier');
    expect(seqs(old)).to.deep.equal(Array.from({ length: 26 }, (_, index) => index + 5));
    // Then live events, in order, exactly once.
    await fixture.waitForParked(2);
    expect(await fixture.notify(fixture.web.addMessages('lobby', 1))).to.equal(204);
    await old.until((r) => seqs(r).length >= 27, 3000, 'the live event');
    await recent.until((r) => seqs(r).length >= 6, 3000, 'the live event');
    expect(seqs(old).at(-1)).to.equal(31);
    expect(seqs(recent).at(-1)).to.equal(31);
  });

  it('sends heartbeat comments while quiet and ends the stream after its lifetime', async () => {
    fixture = await startChatFixture(redis.server.url, { PARLEY_STREAM_HEARTBEAT_MS: '200', PARLEY_STREAM_LIFETIME_MS: '1500' });
    const reader = await open(fixture.streamUrl('rooms=lobby'));
    await reader.until((r) => r.comments >= 2, 3000, 'two heartbeats');
    const started = Date.now();
    await reader.until((r) => r.ended, 3000, 'the end of the lifetime');
    expect(Date.now() - started).to.be.below(1500);
    await waitFor(() => fixture!.chat.stats().openStreams === 0 && fixture!.chat.stats().parkedObservers === 0, 2000, 'the stream to be forgotten');
  });

  it('ends every stream on shutdown, at the cursor of the last event sent', async () => {
    fixture = await startChatFixture(redis.server.url);
    const reader = await open(fixture.streamUrl('rooms=lobby:0'));
    await fixture.waitForParked(1);
    expect(await fixture.notify(fixture.web.addMessages('lobby', 1))).to.equal(204);
    await reader.until((r) => seqs(r).length === 1, 3000, 'the event');
    await fixture.chat.close();
    await reader.until((r) => r.ended, 3000, 'the end of the stream');
    expect(reader.messages.at(-1)?.id).to.equal('lobby:1');
  });

  it('answers bad cursors and the limits with the long-poll JSON errors', async () => {
    fixture = await startChatFixture(redis.server.url, { PARLEY_CHAT_MAX_OBSERVES_PER_SESSION: '1' });
    const bad = await open(fixture.streamUrl('rooms=Lobby!'));
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.errorText ?? '').error.code).to.equal('invalid_cursor');
    const session = randomBytes(32).toString('base64url');
    await open(fixture.streamUrl('rooms=lobby'), { authorization: `Bearer ${session}` });
    await fixture.waitForParked(1);
    const second = await open(fixture.streamUrl('rooms=lobby'), { authorization: `Bearer ${session}` });
    expect(second.status).to.equal(429);
    expect(JSON.parse(second.errorText ?? '').error.code).to.equal('rate_limited');
    // The stream counts while it is open, and no longer once the client left.
    for (const reader of readers) reader.close();
    await waitFor(() => fixture!.chat.stats().parkedObservers === 0, 2000, 'the stream to close');
    const again = await open(fixture.streamUrl('rooms=lobby'), { authorization: `Bearer ${session}` });
    expect(again.status).to.equal(200);
  });
});
