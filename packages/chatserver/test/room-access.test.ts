import { expect } from 'chai';
import { type ChatEvent } from '@parley/protocol';
import { hashSessionToken, signObserveTicket } from '@parley/protocol/node';
import { withHiddenRooms } from '../src/room-access.js';
import { openEventStream } from '../../cluster/test/helpers/event-stream.js';
import { SECRET, bearer, get, startChatFixture, startRedisFixture, waitFor, type ChatFixture, type RedisFixture } from './support/harness.js';

const MEMBER_TOKEN = 'member-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OUTSIDER_TOKEN = 'outsider-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function kickEvent(room: string, seq: number, target: string): ChatEvent {
  return { room, seq, type: 'kick', at: 1_763_740_000_000 + seq, nickname: 'owner', user: 'owner', target, id: `${room}-${seq}` };
}

describe('room access (private rooms on a chatserver)', () => {
  let redis: RedisFixture;
  let fixture: ChatFixture;

  before(async () => {
    redis = await startRedisFixture();
  });
  after(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    fixture = await startChatFixture(redis.server.url);
    fixture.web.addMessages('secret', 3, (seq) => `secret ${seq}`);
    fixture.web.privateRooms.set('secret', new Set([hashSessionToken(MEMBER_TOKEN)]));
  });
  afterEach(async () => {
    await fixture.close();
  });

  const observe = (query: string, token?: string) =>
    get(fixture.observeUrl(query), 5000, token === undefined ? {} : bearer(token));

  it('answers a non-member (anonymous or another session, JSON or JSONP) exactly as for a missing room', async () => {
    for (const token of [undefined, OUTSIDER_TOKEN]) {
      for (const [asked, missing] of [
        ['rooms=secret&wait=0', 'rooms=nowhere&wait=0'],
        ['rooms=secret:0&wait=0', 'rooms=nowhere:0&wait=0'],
        ['rooms=secret:2&wait=0', 'rooms=nowhere:2&wait=0'],
        ['rooms=secret:0&wait=0&callback=cb', 'rooms=nowhere:0&wait=0&callback=cb'],
        ['rooms=secret:1&wait=0&callback=cb', 'rooms=nowhere:1&wait=0&callback=cb'],
      ] as const) {
        const hidden = await observe(asked, token);
        const absent = await observe(missing, token);
        expect(hidden.status, asked).to.equal(absent.status);
        expect(hidden.text.split('secret').join('R'), asked).to.equal(absent.text.split('nowhere').join('R'));
      }
    }
  });

  it('serves a member, and keeps a hidden room at 0 beside visible ones', async () => {
    const member = await observe('rooms=secret:1&wait=0', MEMBER_TOKEN);
    expect(JSON.parse(member.text)).to.deep.include({ cursor: 'secret:3' });
    expect(JSON.parse(member.text).events.map((event: { text: string }) => event.text)).to.deep.equal(['secret 2', 'secret 3']);
    fixture.web.addMessages('lobby', 2);
    const mixed = JSON.parse((await observe('rooms=secret,lobby:0&wait=0', OUTSIDER_TOKEN)).text);
    expect(mixed.cursor).to.equal('lobby:2,secret:0');
    expect(mixed.events.map((event: { room: string }) => event.room)).to.deep.equal(['lobby', 'lobby']);
  });

  it('answers a non-member\'s stream (SSE) as for a missing room: the room at 0 in the ready cursor, never an event', async () => {
    fixture.web.addMessages('lobby', 1);
    const outsider = await openEventStream(fixture.streamUrl('rooms=secret:0,lobby'), bearer(OUTSIDER_TOKEN));
    const member = await openEventStream(fixture.streamUrl('rooms=secret:0'), bearer(MEMBER_TOKEN));
    try {
      expect(outsider.status).to.equal(200);
      await outsider.until((r) => r.messages.length >= 1, 3000, 'the ready event');
      expect(outsider.messages[0]).to.deep.include({ event: 'ready', id: 'lobby:1,secret:0' });
      await member.until((r) => r.messages.length >= 4, 3000, 'the member\'s events');
      expect(member.messages.slice(1).map((message) => (JSON.parse(message.data) as ChatEvent).room)).to.deep.equal(['secret', 'secret', 'secret']);
      await fixture.waitForParked(2);
      expect(await fixture.notify(fixture.web.addMessages('secret', 1))).to.equal(204);
      expect(await fixture.notify(fixture.web.addMessages('lobby', 1))).to.equal(204);
      await outsider.until((r) => r.messages.length >= 2, 3000, 'the lobby event');
      expect(outsider.messages.slice(1).map((message) => (JSON.parse(message.data) as ChatEvent).room)).to.deep.equal(['lobby']);
      const ahead = await openEventStream(fixture.streamUrl('rooms=secret:2'), bearer(OUTSIDER_TOKEN));
      expect(ahead.status).to.equal(400);
      ahead.close();
    } finally {
      outsider.close();
      member.close();
    }
  });

  it('never wakes a hidden observer with a private room\'s events', async () => {
    const hidden = observe('rooms=secret:0&wait=1', OUTSIDER_TOKEN);
    await fixture.waitForParked(1);
    expect(await fixture.notify(fixture.web.addMessages('secret', 1))).to.equal(204);
    const answer = await hidden;
    expect(JSON.parse(answer.text)).to.deep.equal({ events: [], cursor: 'secret:0' });
  });

  it('serves the one room of a valid observe ticket without a session, and nothing for a forged or expired one', async () => {
    const ticket = signObserveTicket(SECRET, { room: 'secret', expiresAt: Date.now() + 60_000 });
    const answer = JSON.parse((await get(fixture.observeUrl(`rooms=secret:0&wait=0&ticket=${ticket}`))).text);
    expect(answer.events).to.have.length(3);
    const forged = signObserveTicket('another-secret-of-at-least-32-characters', { room: 'secret', expiresAt: Date.now() + 60_000 });
    const expired = signObserveTicket(SECRET, { room: 'secret', expiresAt: Date.now() - 1 });
    for (const bad of [forged, expired]) {
      expect(JSON.parse((await get(fixture.observeUrl(`rooms=secret:0&wait=0&ticket=${bad}`))).text)).to.deep.equal({ events: [], cursor: 'secret:0' });
    }
  });

  it('stops serving a kicked member at the next observe: a kick event drops the cached access', async () => {
    expect((await observe('rooms=secret:0&wait=0', MEMBER_TOKEN)).status).to.equal(200);
    const parked = observe('rooms=secret:3&wait=5', MEMBER_TOKEN);
    await fixture.waitForParked(1);
    fixture.web.privateRooms.set('secret', new Set());
    const kick = kickEvent('secret', 4, 'member');
    fixture.web.rooms.get('secret')?.push(kick);
    const kickedAt = Date.now();
    expect(await fixture.notify([kick])).to.equal(204);
    // The parked observe learns of its own removal...
    expect(JSON.parse((await parked).text).events).to.deep.equal([kick]);
    // ...and its next observe is a missing room's.
    const next = await observe('rooms=secret:4&wait=0', MEMBER_TOKEN);
    expect(next.status).to.equal(400);
    expect(JSON.parse(next.text).error.code).to.equal('invalid_cursor');
    expect(JSON.parse((await observe('rooms=secret&wait=0', MEMBER_TOKEN)).text)).to.deep.equal({ events: [], cursor: 'secret:0' });
    expect(Date.now() - kickedAt).to.be.below(1000);
  });

  it('answers a parked observe of a session that ended at once, and forgets its access', async () => {
    const parked = observe('rooms=secret:3&wait=10', MEMBER_TOKEN);
    await fixture.waitForParked(1);
    fixture.web.privateRooms.set('secret', new Set());
    const endedAt = Date.now();
    await fixture.redis.publish(`${fixture.prefix}sessions-ended`, hashSessionToken(MEMBER_TOKEN));
    expect(JSON.parse((await parked).text)).to.deep.equal({ events: [], cursor: 'secret:3' });
    expect(Date.now() - endedAt).to.be.below(1000);
    await waitFor(async () => (await observe('rooms=secret:3&wait=0', MEMBER_TOKEN)).status === 400, 2000, 'access forgotten');
  });

  it('asks the web tier once per session and room, until an event invalidates it', async () => {
    fixture.web.addMessages('lobby', 1);
    for (let round = 0; round < 3; round++) await observe('rooms=secret,lobby&wait=0', MEMBER_TOKEN);
    expect(fixture.web.accessAsked).to.have.length(1);
  });

  it('asks the web tier once for a room that many observers open at the same moment', async () => {
    fixture.web.addMessages('crowded', 1);
    const tokens = Array.from({ length: 20 }, (_, i) => `crowd-token-${String(i).padStart(40, '0')}`);
    const answers = await Promise.all(tokens.map((token) => observe('rooms=crowded:0&wait=0', token)));
    expect(answers.map((answer) => answer.status)).to.deep.equal(tokens.map(() => 200));
    expect(answers.map((answer) => JSON.parse(answer.text).cursor)).to.deep.equal(tokens.map(() => 'crowded:1'));
    expect(fixture.web.accessAsked.filter((asked) => asked.rooms.includes('crowded'))).to.have.length(1);
  });

  it('adds hidden rooms to an answer\'s cursor at 0', () => {
    expect(withHiddenRooms('{"events":[],"cursor":"a:1"}', ['b', 'c'])).to.equal('{"events":[],"cursor":"a:1,b:0,c:0"}');
    expect(withHiddenRooms('{"events":[],"cursor":""}', ['b'])).to.equal('{"events":[],"cursor":"b:0"}');
  });
});
