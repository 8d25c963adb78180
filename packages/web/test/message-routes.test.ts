import { expect } from 'chai';
import { HARNESS_STORES, call, jobOfEvent, newSession, snapshot, startHarness, uniqueRoom, waitFor, type Harness } from './harness.js';

for (const storeKind of HARNESS_STORES) {
  describe(`message routes (edit, delete, search) on ${storeKind}`, () => {
    let harness: Harness;

    before(async function () {
      // A private PostgreSQL's first start takes a few seconds on a busy machine.
      this.timeout(60_000);
      harness = await startHarness({ store: storeKind });
    });

    after(async () => {
      await harness?.close();
    });

    async function sessionIn(room: string, nickname: string): Promise<string> {
      const session = await newSession(harness, nickname);
      expect((await call(harness, 'POST', `/api/rooms/${room}/enter`, { session })).status).to.equal(200);
      return session;
    }

    async function say(session: string, room: string, text: string): Promise<{ seq: number; id: string }> {
      const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text } });
      expect(answer.status).to.equal(201);
      return answer.json.event;
    }

    async function history(room: string): Promise<Array<Record<string, unknown>>> {
      return (await call(harness, 'GET', `/api/rooms/${room}/events?after=0`)).json.events;
    }

    describe('PATCH /api/rooms/:room/events/:seq', () => {
      it("answers 200 with the edit event, queues it, and history gives the message's new text with edited", async () => {
        const room = uniqueRoom();
        const alice = await sessionIn(room, 'alice');
        const message = await say(alice, room, 'helo');
        const answer = await call(harness, 'PATCH', `/api/rooms/${room}/events/${message.seq}`, { session: alice, json: { text: 'hello' } });
        expect(answer.status).to.equal(200);
        expect(answer.json).to.have.all.keys('event');
        expect(answer.json.event).to.include({ room, seq: message.seq + 1, type: 'edit', nickname: 'alice', target: message.seq, text: 'hello' });
        const job = await waitFor(() => jobOfEvent(harness, answer.json.event), 5000, 'edit job');
        expect(job.events).to.deep.equal([answer.json.event]);
        const [, stored] = await history(room);
        expect(stored).to.include({ seq: message.seq, text: 'hello', edited: true });
      });

      it("refuses someone else's message with 403 forbidden, a missing one with 404 message_not_found, bad input with 400; changing nothing", async () => {
        const room = uniqueRoom();
        const alice = await sessionIn(room, 'alice');
        const bob = await sessionIn(room, 'bob');
        const message = await say(alice, room, 'mine');
        const before = await snapshot(harness, room);
        const cases: Array<[string, string | undefined, unknown, number, string]> = [
          [`/api/rooms/${room}/events/${message.seq}`, bob, { text: 'theirs' }, 403, 'forbidden'],
          [`/api/rooms/${room}/events/999`, alice, { text: 'x' }, 404, 'message_not_found'],
          [`/api/rooms/${room}/events/1`, alice, { text: 'x' }, 404, 'message_not_found'],
          [`/api/rooms/no-such-room-${Date.now()}/events/1`, alice, { text: 'x' }, 404, 'room_not_found'],
          [`/api/rooms/${room}/events/${message.seq}`, alice, { text: '' }, 400, 'invalid_text'],
          [`/api/rooms/${room}/events/${message.seq}`, alice, {}, 400, 'invalid_text'],
          [`/api/rooms/${room}/events/0`, alice, { text: 'x' }, 400, 'invalid_parameter'],
          [`/api/rooms/${room}/events/abc`, alice, { text: 'x' }, 400, 'invalid_parameter'],
          [`/api/rooms/${room}/events/${message.seq}`, undefined, { text: 'x' }, 401, 'unauthorized'],
        ];
        for (const [path, session, json, status, code] of cases) {
          const answer = await call(harness, 'PATCH', path, { json, ...(session === undefined ? {} : { session }) });
          expect([path, answer.status, answer.json?.error?.code]).to.deep.equal([path, status, code]);
        }
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });
    });

    describe('DELETE /api/rooms/:room/events/:seq', () => {
      it('answers 204, queues the delete event, erases the text from history; a second DELETE appends nothing', async () => {
        const room = uniqueRoom();
        const alice = await sessionIn(room, 'alice');
        const message = await say(alice, room, 'a pasted secret');
        const answer = await call(harness, 'DELETE', `/api/rooms/${room}/events/${message.seq}`, { session: alice });
        expect(answer.status).to.equal(204);
        expect(answer.text).to.equal('');
        const events = await history(room);
        const deletion = events.at(-1);
        expect(deletion).to.include({ seq: message.seq + 1, type: 'delete', target: message.seq, nickname: 'alice' });
        await waitFor(() => jobOfEvent(harness, deletion as never), 5000, 'delete job');
        expect(events[1]).to.deep.equal({ ...events[1], deleted: true });
        expect(events[1]).to.not.have.property('text');
        expect(JSON.stringify(events)).to.not.include('secret');
        const before = await snapshot(harness, room);
        expect((await call(harness, 'DELETE', `/api/rooms/${room}/events/${message.seq}`, { session: alice })).status).to.equal(204);
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });

      it("refuses someone else's message with 403 forbidden and changes nothing", async () => {
        const room = uniqueRoom();
        const alice = await sessionIn(room, 'alice');
        const bob = await sessionIn(room, 'bob');
        const message = await say(alice, room, 'mine');
        const before = await snapshot(harness, room);
        const answer = await call(harness, 'DELETE', `/api/rooms/${room}/events/${message.seq}`, { session: bob });
        expect([answer.status, answer.json.error.code]).to.deep.equal([403, 'forbidden']);
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });
    });

    describe('GET /api/rooms/:room/search', () => {
      it('answers the matching messages newest first, at most limit, without deleted ones', async () => {
        const room = uniqueRoom();
        const alice = await sessionIn(room, 'alice');
        const first = await say(alice, room, 'release notes for 2.0');
        await say(alice, room, 'unrelated');
        const second = await say(alice, room, 'Release party tonight');
        const gone = await say(alice, room, 'release the secret');
        await call(harness, 'DELETE', `/api/rooms/${room}/events/${gone.seq}`, { session: alice });
        const answer = await call(harness, 'GET', `/api/rooms/${room}/search?q=${encodeURIComponent('RELEASE')}`);
        expect(answer.status).to.equal(200);
        expect(answer.json.events.map((event: { seq: number }) => event.seq)).to.deep.equal([second.seq, first.seq]);
        expect(answer.json.events[0]).to.include({ type: 'message', text: 'Release party tonight', nickname: 'alice' });
        const limited = await call(harness, 'GET', `/api/rooms/${room}/search?q=release&limit=1`);
        expect(limited.json.events.map((event: { seq: number }) => event.seq)).to.deep.equal([second.seq]);
        const prefix = await call(harness, 'GET', `/api/rooms/${room}/search?q=${encodeURIComponent('part* "ton')}`);
        expect(prefix.json.events.map((event: { seq: number }) => event.seq)).to.deep.equal([second.seq]);
      });

      it('answers 400 invalid_parameter for a missing, wordless or too long q or a bad limit, and 404 for a missing room', async () => {
        const room = uniqueRoom();
        await sessionIn(room, 'alice');
        for (const query of ['', '?q=', `?q=${encodeURIComponent('*** ""')}`, `?q=${'a'.repeat(201)}`, '?q=x&limit=0', '?q=x&limit=101']) {
          const answer = await call(harness, 'GET', `/api/rooms/${room}/search${query}`);
          expect([query, answer.status, answer.json?.error?.code]).to.deep.equal([query, 400, 'invalid_parameter']);
        }
        const missing = await call(harness, 'GET', `/api/rooms/no-such-room-${Date.now()}/search?q=x`);
        expect([missing.status, missing.json.error.code]).to.deep.equal([404, 'room_not_found']);
      });
    });
  });
}
