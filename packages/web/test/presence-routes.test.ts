import { expect } from 'chai';
import {
  PRESENCE_EXPIRE_PATH,
  presenceKey,
  presenceRoomsKey,
  type ChatEvent,
} from '@parley/protocol';
import {
  hashSessionToken,
  signRequest,
} from '@parley/protocol/node';
import { call, jobOfEvent, newSession, settle, startHarness, TEST_SECRET, uniqueRoom, waitFor, type RedisHarness } from './harness.js';

describe('presence in the web tier', () => {
  let harness: RedisHarness;

  before(async () => {
    harness = await startHarness();
  });

  after(async () => {
    await harness?.close();
  });

  const score = (room: string, token: string): Promise<string | null> =>
    harness.connection.zscore(presenceKey(harness.config.redisPrefix, room), hashSessionToken(token));

  function postExpire(body: string, secret = TEST_SECRET, now = Date.now()) {
    return call(harness, 'POST', PRESENCE_EXPIRE_PATH, {
      body,
      headers: { 'content-type': 'application/json', ...signRequest(secret, { method: 'POST', path: PRESENCE_EXPIRE_PATH, body }, now) },
    });
  }

  const expire = (room: string, tokenHashes: string[]) => postExpire(JSON.stringify({ room, tokenHashes }));

  async function enter(session: string, room: string): Promise<void> {
    const answer = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
    expect(answer.status).to.equal(200);
  }

  async function occupants(room: string): Promise<string[]> {
    const answer = await call(harness, 'GET', `/api/rooms/${room}`);
    return (answer.json.occupants as Array<{ nickname: string }>).map((occupant) => occupant.nickname).sort();
  }

  describe('enter, leave and the end of a session', () => {
    it('records an entering session as seen in the room, by its token hash', async () => {
      const session = await newSession(harness, 'enterer');
      const room = uniqueRoom();
      const before = Date.now();
      await enter(session, room);
      const seenAt = Number(await waitFor(() => score(room, session), 2000, 'presence entry'));
      expect(seenAt).to.be.within(before, Date.now());
      expect(await harness.connection.sismember(presenceRoomsKey(harness.config.redisPrefix), room)).to.equal(1);
    });

    it('forgets a session in a room it leaves', async () => {
      const session = await newSession(harness, 'leaver');
      const room = uniqueRoom();
      await enter(session, room);
      await waitFor(() => score(room, session), 2000, 'presence entry');
      expect((await call(harness, 'POST', `/api/rooms/${room}/leave`, { session })).status).to.equal(204);
      await waitFor(async () => (await score(room, session)) === null, 2000, 'presence entry removed');
    });

    it('forgets an ended session in every room it was in', async () => {
      const session = await newSession(harness, 'quitter');
      const rooms = [uniqueRoom(), uniqueRoom()];
      for (const room of rooms) await enter(session, room);
      await waitFor(async () => (await score(rooms[1] as string, session)) !== null, 2000, 'presence entries');
      expect((await call(harness, 'DELETE', '/api/session', { session })).status).to.equal(204);
      for (const room of rooms) await waitFor(async () => (await score(room, session)) === null, 2000, `${room} forgotten`);
    });
  });

  describe(`POST ${PRESENCE_EXPIRE_PATH}`, () => {
    it('refuses an unsigned request with 401 signature_required', async () => {
      const answer = await call(harness, 'POST', PRESENCE_EXPIRE_PATH, { json: { room: uniqueRoom(), tokenHashes: [] } });
      expect(answer.status).to.equal(401);
      expect(answer.json.error.code).to.equal('signature_required');
    });

    it('refuses a request signed with another secret with 403 bad_signature', async () => {
      const body = JSON.stringify({ room: uniqueRoom(), tokenHashes: [] });
      const answer = await postExpire(body, 'another-secret-that-is-32-characters-long');
      expect(answer.status).to.equal(403);
      expect(answer.json.error.code).to.equal('bad_signature');
    });

    it('refuses a stale signature with 403 bad_signature', async () => {
      const answer = await postExpire(JSON.stringify({ room: uniqueRoom(), tokenHashes: [] }), TEST_SECRET, Date.now() - 120_000);
      expect(answer.status).to.equal(403);
    });

    it('refuses a replayed request with 403 replayed_request and changes nothing', async () => {
      const room = uniqueRoom();
      const session = await newSession(harness, 'replayed');
      await enter(session, room);
      const body = JSON.stringify({ room, tokenHashes: [hashSessionToken(session)] });
      const headers = { 'content-type': 'application/json', ...signRequest(TEST_SECRET, { method: 'POST', path: PRESENCE_EXPIRE_PATH, body }) };
      expect((await call(harness, 'POST', PRESENCE_EXPIRE_PATH, { body, headers })).json).to.deep.equal({ left: 1 });
      await enter(session, room);
      const head = await harness.store.roomSeq(room);
      const replayed = await call(harness, 'POST', PRESENCE_EXPIRE_PATH, { body, headers });
      expect(replayed.status).to.equal(403);
      expect(replayed.json.error.code).to.equal('replayed_request');
      expect(await occupants(room)).to.deep.equal(['replayed']);
      expect(await harness.store.roomSeq(room)).to.equal(head);
    });

    it('refuses a signed body that is not a room and a list of token hashes with 400', async () => {
      for (const body of ['{', '{"room":"a"}', '{"room":"a","tokenHashes":["not-a-hash"]}', '{"room":"Bad Room","tokenHashes":[]}']) {
        const answer = await postExpire(body);
        expect(answer.status, body).to.equal(400);
      }
    });

    it('leaves exactly the named sessions that are in the room, with a notified leave event each', async () => {
      const room = uniqueRoom();
      const stale = await newSession(harness, 'stale');
      const present = await newSession(harness, 'present');
      const outsider = await newSession(harness, 'outsider');
      await enter(stale, room);
      await enter(present, room);
      await settle(harness);
      const head = (await harness.store.roomSeq(room)) ?? 0;
      const unknownHash = hashSessionToken('no-such-session-token-ever-issued');

      const answer = await expire(room, [hashSessionToken(stale), hashSessionToken(outsider), unknownHash]);
      expect(answer.status).to.equal(200);
      expect(answer.json).to.deep.equal({ left: 1 });
      expect(await occupants(room)).to.deep.equal(['present']);

      const events: ChatEvent[] = await harness.store.readEvents(room, { after: head, limit: 10 });
      expect(events.map((event) => `${event.type}:${event.nickname}`)).to.deep.equal(['leave:stale']);
      const leave = events[0] as ChatEvent;
      await waitFor(() => jobOfEvent(harness, leave), 3000, 'leave event queued for the chatservers');
    });

    it('changes nothing when asked again, or about a room that does not exist', async () => {
      const room = uniqueRoom();
      const session = await newSession(harness, 'twice');
      await enter(session, room);
      expect((await expire(room, [hashSessionToken(session)])).json).to.deep.equal({ left: 1 });
      const head = await harness.store.roomSeq(room);
      expect((await expire(room, [hashSessionToken(session)])).json).to.deep.equal({ left: 0 });
      expect(await harness.store.roomSeq(room)).to.equal(head);
      expect((await expire(uniqueRoom(), [hashSessionToken(session)])).json).to.deep.equal({ left: 0 });
    });
  });
});
