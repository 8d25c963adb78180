import { expect } from 'chai';
import { HARNESS_STORES, call, newSession, snapshot, startHarness, uniqueRoom, waitFor, jobOfEvent, type Harness } from './harness.js';

for (const storeKind of HARNESS_STORES) {
  describe(`session routes on ${storeKind}`, () => {
    let harness: Harness;

    before(async function () {
      // A private PostgreSQL's first start takes a few seconds on a busy machine.
      this.timeout(60_000);
      harness = await startHarness({ seams: 'memory', store: storeKind });
    });

    after(async () => {
      await harness?.close();
    });

    describe('POST /api/session', () => {
      it('answers 201 with a 32-byte base64url session and the nickname', async () => {
        const answer = await call(harness, 'POST', '/api/session', { json: { nickname: '  alice ' } });
        expect(answer.status).to.equal(201);
        expect(answer.json).to.have.all.keys('session', 'nickname');
        expect(answer.json.nickname).to.equal('alice');
        expect(answer.json.session).to.match(/^[A-Za-z0-9_-]{43}$/);
      });

      it('sets an HttpOnly SameSite=Lax session cookie for 30 days', async () => {
        const answer = await call(harness, 'POST', '/api/session', { json: { nickname: 'bob' } });
        const cookie = answer.headers.get('set-cookie');
        expect(cookie).to.equal(`parley_session=${answer.json.session}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax`);
      });

      it('gives every session a different token', async () => {
        const first = await newSession(harness);
        const second = await newSession(harness);
        expect(first).to.not.equal(second);
      });

      for (const [label, nickname] of [
        ['an empty nickname', ''],
        ['a blank nickname', '   '],
        ['a 33-character nickname', 'n'.repeat(33)],
        ['a nickname with a control character', 'al\u0007ice'],
        ['a nickname with a bidi override', 'al\u202eice'],
        ['a number as nickname', 42],
        ['a missing nickname', undefined],
      ] as const) {
        it(`refuses ${label} with 400 invalid_nickname`, async () => {
          const answer = await call(harness, 'POST', '/api/session', { json: { nickname } });
          expect(answer.status).to.equal(400);
          expect(answer.json).to.deep.equal({ error: { code: 'invalid_nickname', message: answer.json.error.message } });
          expect(answer.headers.get('set-cookie')).to.equal(null);
        });
      }
    });

    describe('GET /api/session', () => {
      it('answers the nickname and the rooms the session is in', async () => {
        const session = await newSession(harness, 'carol');
        const room = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
        const answer = await call(harness, 'GET', '/api/session', { session });
        expect(answer.status).to.equal(200);
        expect(answer.json).to.deep.equal({ nickname: 'carol', username: null, rooms: [room] });
      });

      it('accepts the session cookie', async () => {
        const session = await newSession(harness, 'dave');
        const answer = await call(harness, 'GET', '/api/session', { headers: { cookie: `parley_session=${session}` } });
        expect(answer.status).to.equal(200);
        expect(answer.json.nickname).to.equal('dave');
      });
    });

    describe('POST /api/nick', () => {
      it('answers 200 with the new nickname and puts a nick event in each room of the session', async () => {
        const session = await newSession(harness, 'erin');
        const room = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
        const answer = await call(harness, 'POST', '/api/nick', { session, json: { nickname: 'erin2' } });
        expect(answer.status).to.equal(200);
        expect(answer.json).to.deep.equal({ nickname: 'erin2' });
        const events = await call(harness, 'GET', `/api/rooms/${room}/events`);
        const last = events.json.events.at(-1);
        expect(last).to.include({ type: 'nick', from: 'erin', nickname: 'erin2', seq: 2 });
        const job = await waitFor(() => jobOfEvent(harness, last), 5000, 'nick job');
        expect(job.events).to.deep.equal([last]);
      });

      for (const [label, nickname] of [
        ['an empty nickname', ''],
        ['a 33-character nickname', 'n'.repeat(33)],
        ['a nickname with a newline', 'a\nb'],
        ['a nickname that is an object', { name: 'x' }],
      ] as const) {
        it(`refuses ${label} with 400 invalid_nickname and changes nothing`, async () => {
          const session = await newSession(harness, 'frank');
          const room = uniqueRoom();
          await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
          const before = await snapshot(harness, room);
          const answer = await call(harness, 'POST', '/api/nick', { session, json: { nickname } });
          expect(answer.status).to.equal(400);
          expect(answer.json.error.code).to.equal('invalid_nickname');
          expect(await snapshot(harness, room)).to.deep.equal(before);
          expect((await call(harness, 'GET', '/api/session', { session })).json.nickname).to.equal('frank');
        });
      }
    });

    describe('DELETE /api/session', () => {
      it('answers 204, leaves every room with a notified leave event and clears the cookie', async () => {
        const session = await newSession(harness, 'grace');
        const rooms = [uniqueRoom(), uniqueRoom()];
        for (const room of rooms) await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
        const answer = await call(harness, 'DELETE', '/api/session', { session });
        expect(answer.status).to.equal(204);
        expect(answer.text).to.equal('');
        expect(answer.headers.get('set-cookie')).to.equal('parley_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
        for (const room of rooms) {
          const detail = await call(harness, 'GET', `/api/rooms/${room}`);
          expect(detail.json).to.deep.equal({ name: room, seq: 2, occupants: [] });
          const leave = (await call(harness, 'GET', `/api/rooms/${room}/events`)).json.events.at(-1);
          expect(leave).to.include({ type: 'leave', nickname: 'grace' });
          await waitFor(() => jobOfEvent(harness, leave), 5000, 'leave job');
        }
      });

      it('makes the session unknown afterwards', async () => {
        const session = await newSession(harness);
        await call(harness, 'DELETE', '/api/session', { session });
        const answer = await call(harness, 'GET', '/api/session', { session });
        expect(answer.status).to.equal(401);
        expect(answer.json.error.code).to.equal('unauthorized');
      });
    });
  });
}
