import { notifyJobId } from '../src/notifier.js';
import { expect } from 'chai';
import { HARNESS_STORES, call, jobOfEvent, newSession, settle, snapshot, startHarness, uniqueRoom, waitFor, type RedisHarness } from './harness.js';

for (const storeKind of HARNESS_STORES) {
  describe(`room routes on ${storeKind}`, () => {
    let harness: RedisHarness;

    before(async function () {
      // A private PostgreSQL's first start takes a few seconds on a busy machine.
      this.timeout(60_000);
      harness = await startHarness({ store: storeKind });
    });

    after(async () => {
      await harness?.close();
    });

    async function enteredRoom(nickname = 'alice'): Promise<{ session: string; room: string }> {
      const session = await newSession(harness, nickname);
      const room = uniqueRoom();
      const answer = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      expect(answer.status).to.equal(200);
      return { session, room };
    }

    async function say(session: string, room: string, count: number): Promise<void> {
      for (let index = 1; index <= count; index++) {
        const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: `m${index}` } });
        expect(answer.status).to.equal(201);
      }
    }

    describe('POST /api/rooms/:room/enter', () => {
      it('creates the room on first use and answers its detail and latest events', async () => {
        const session = await newSession(harness, 'alice');
        const room = uniqueRoom();
        const answer = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
        expect(answer.status).to.equal(200);
        expect(answer.json.room).to.deep.equal({ name: room, seq: 1, occupants: [{ nickname: 'alice' }] });
        expect(answer.json.events).to.have.length(1);
        expect(answer.json.events[0]).to.include({ room, seq: 1, type: 'enter', nickname: 'alice' });
      });

      it('answers at most the latest 50 events, ascending', async () => {
        const { session, room } = await enteredRoom();
        await say(session, room, 55);
        const other = await newSession(harness, 'bob');
        const answer = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: other });
        const seqs = answer.json.events.map((event: { seq: number }) => event.seq);
        expect(seqs).to.deep.equal(Array.from({ length: 50 }, (_, index) => index + 8));
      });

      it('accepts an empty JSON object body', async () => {
        const session = await newSession(harness);
        const answer = await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/enter`, { session, json: {} });
        expect(answer.status).to.equal(200);
      });

      it('appends nothing when the session is already in the room', async () => {
        const { session, room } = await enteredRoom();
        const before = await snapshot(harness, room);
        const answer = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
        expect(answer.status).to.equal(200);
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });
    });

    describe('POST /api/rooms/:room/say', () => {
      it('answers 201 with the stored message event', async () => {
        const { session, room } = await enteredRoom('alice');
        const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'hello\nworld' } });
        expect(answer.status).to.equal(201);
        expect(answer.json).to.have.all.keys('event');
        expect(answer.json.event).to.include({ room, seq: 2, type: 'message', nickname: 'alice', text: 'hello\nworld' });
        expect(answer.json.event.id).to.be.a('string');
        expect(answer.json.event.at).to.be.a('number');
      });

      it("adds the event to the notify queue under its first event's id and acknowledges the row", async () => {
        const { session, room } = await enteredRoom();
        const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'queued' } });
        const data = await waitFor(() => jobOfEvent(harness, answer.json.event), 5000, 'say job');
        const job = await harness.queue.getJob(notifyJobId(data.events));
        expect(job?.name).to.equal('notify');
        expect(job?.data).to.deep.equal({ outboxId: data.outboxId, events: [answer.json.event] });
        expect(job?.opts).to.deep.include({ attempts: 8, backoff: { type: 'exponential', delay: 200 } });
        await waitFor(async () => (await harness.store.outboxDepth()) === 0, 5000, 'outbox acknowledged');
      });

      it('answers a repeated clientId with the same event and appends nothing', async () => {
        const { session, room } = await enteredRoom();
        const first = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'once', clientId: 'c-1' } });
        const before = await snapshot(harness, room);
        const second = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'once', clientId: 'c-1' } });
        expect(second.status).to.equal(201);
        expect(second.json).to.deep.equal(first.json);
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });

      it('uses the say id nginx gives a say without clientId as its idempotency key, so a replay appends nothing', async () => {
        const { session, room } = await enteredRoom();
        const headers = { 'x-parley-say-id': '0123456789abcdef0123456789abcdef' };
        const first = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, headers, json: { text: 'replayed' } });
        const before = await snapshot(harness, room);
        const replay = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, headers, json: { text: 'replayed' } });
        expect(replay.status).to.equal(201);
        expect(replay.json).to.deep.equal(first.json);
        expect(await snapshot(harness, room)).to.deep.equal(before);
        // Without the header, the same text is a new message.
        expect((await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'replayed' } })).json.event.seq).to.equal(first.json.event.seq + 1);
      });

      it('refuses a session that has not entered the room with 409 not_in_room', async () => {
        const { room } = await enteredRoom();
        const stranger = await newSession(harness, 'stranger');
        const before = await snapshot(harness, room);
        const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session: stranger, json: { text: 'hi' } });
        expect(answer.status).to.equal(409);
        expect(answer.json.error.code).to.equal('not_in_room');
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });

      it('refuses an unknown room with 404 room_not_found', async () => {
        const session = await newSession(harness);
        const answer = await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/say`, { session, json: { text: 'hi' } });
        expect(answer.status).to.equal(404);
        expect(answer.json.error.code).to.equal('room_not_found');
      });

      for (const [label, body, code] of [
        ['an empty text', { text: '' }, 'invalid_text'],
        ['a blank text', { text: ' \n\t ' }, 'invalid_text'],
        ['a 2001-character text', { text: 'x'.repeat(2001) }, 'invalid_text'],
        ['a text with a bidi override', { text: 'abc\u202edef' }, 'invalid_text'],
        ['a text with a NUL', { text: 'abc\u0000def' }, 'invalid_text'],
        ['a text that is a number', { text: 7 }, 'invalid_text'],
        ['a missing text', {}, 'invalid_text'],
        ['a clientId with a space', { text: 'hi', clientId: 'a b' }, 'invalid_client_id'],
        ['a 65-character clientId', { text: 'hi', clientId: 'c'.repeat(65) }, 'invalid_client_id'],
        ['an empty clientId', { text: 'hi', clientId: '' }, 'invalid_client_id'],
        ['a clientId that is a number', { text: 'hi', clientId: 12 }, 'invalid_client_id'],
      ] as const) {
        it(`refuses ${label} with 400 ${code} and changes nothing`, async () => {
          const { session, room } = await enteredRoom();
          const before = await snapshot(harness, room);
          const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: body });
          expect(answer.status).to.equal(400);
          expect(answer.json.error.code).to.equal(code);
          expect(await snapshot(harness, room)).to.deep.equal(before);
        });
      }

      it('accepts a text of exactly 2000 characters', async () => {
        const { session, room } = await enteredRoom();
        const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: '\u{1F600}'.repeat(2000) } });
        expect(answer.status).to.equal(201);
      });
    });

    if (storeKind === 'postgres') {
      describe('while PostgreSQL is down', () => {
        it('answers a say 503 unavailable with Retry-After: 1, and stores its retry once the database is back', async function () {
          this.timeout(60_000);
          const { session, room } = await enteredRoom();
          const server = harness.postgres?.server;
          if (server === undefined) throw new Error('the postgres harness has no server');
          await server.stop();
          try {
            const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'while down', clientId: 'c-down' } });
            expect(answer.status).to.equal(503);
            expect(answer.json.error.code).to.equal('unavailable');
            expect(answer.headers.get('retry-after')).to.equal('1');
          } finally {
            await server.start();
          }
          const retried = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'while down', clientId: 'c-down' } });
          expect(retried.status).to.equal(201);
          expect(retried.json.event).to.include({ seq: 2, text: 'while down' });
        });
      });
    }

    describe('POST /api/rooms/:room/leave', () => {
      it('answers 204 and appends a leave event', async () => {
        const { session, room } = await enteredRoom('alice');
        const answer = await call(harness, 'POST', `/api/rooms/${room}/leave`, { session });
        expect(answer.status).to.equal(204);
        expect(answer.text).to.equal('');
        const detail = await call(harness, 'GET', `/api/rooms/${room}`);
        expect(detail.json).to.deep.equal({ name: room, seq: 2, occupants: [] });
      });

      it('answers 204 and appends nothing for a session that is not in the room', async () => {
        const { room } = await enteredRoom();
        const stranger = await newSession(harness);
        const before = await snapshot(harness, room);
        const answer = await call(harness, 'POST', `/api/rooms/${room}/leave`, { session: stranger });
        expect(answer.status).to.equal(204);
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });

      it('refuses an unknown room with 404 room_not_found', async () => {
        const session = await newSession(harness);
        const answer = await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/leave`, { session });
        expect(answer.status).to.equal(404);
        expect(answer.json.error.code).to.equal('room_not_found');
      });
    });

    describe('GET /api/rooms and /api/rooms/:room', () => {
      it('lists rooms with their head and occupant count without a session', async () => {
        const { room } = await enteredRoom();
        const answer = await call(harness, 'GET', '/api/rooms');
        expect(answer.status).to.equal(200);
        expect(answer.json).to.have.all.keys('rooms');
        expect(answer.json.rooms).to.deep.include({ name: room, seq: 1, occupants: 1 });
      });

      it('answers a room with its occupants without a session', async () => {
        const { room } = await enteredRoom('alice');
        const answer = await call(harness, 'GET', `/api/rooms/${room}`);
        expect(answer.status).to.equal(200);
        expect(answer.json).to.deep.equal({ name: room, seq: 1, occupants: [{ nickname: 'alice' }] });
      });

      it('answers 404 room_not_found for an unknown room', async () => {
        const answer = await call(harness, 'GET', `/api/rooms/${uniqueRoom()}`);
        expect(answer.status).to.equal(404);
        expect(answer.json.error.code).to.equal('room_not_found');
      });
    });

    describe('GET /api/rooms/:room/events', () => {
      let session: string;
      let room: string;

      before(async () => {
        ({ session, room } = await enteredRoom());
        await say(session, room, 9); // seqs 1..10
      });

      async function seqs(query: string): Promise<number[]> {
        const answer = await call(harness, 'GET', `/api/rooms/${room}/events${query}`);
        expect(answer.status).to.equal(200);
        return answer.json.events.map((event: { seq: number }) => event.seq);
      }

      it('answers the latest events ascending without a cursor', async () => {
        expect(await seqs('?limit=3')).to.deep.equal([8, 9, 10]);
      });

      it('answers the events after a seq', async () => {
        expect(await seqs('?after=6&limit=2')).to.deep.equal([7, 8]);
      });

      it('pages backwards with before, still ascending', async () => {
        expect(await seqs('?before=5&limit=2')).to.deep.equal([3, 4]);
      });

      it('limits to 50 events by default', async () => {
        const { session: busy, room: busyRoom } = await enteredRoom();
        await say(busy, busyRoom, 59);
        const answer = await call(harness, 'GET', `/api/rooms/${busyRoom}/events?after=0`);
        expect(answer.json.events).to.have.length(50);
        expect(answer.json.events[0].seq).to.equal(1);
      });

      for (const [label, query] of [
        ['after and before together', '?after=1&before=5'],
        ['a negative after', '?after=-1'],
        ['a fractional after', '?after=1.5'],
        ['a word as after', '?after=abc'],
        ['an after given twice', '?after=1&after=2'],
        ['a limit of 0', '?limit=0'],
        ['a limit of 201', '?limit=201'],
        ['an empty limit', '?limit='],
        ['a word as before', '?before=x'],
      ] as const) {
        it(`refuses ${label} with 400 invalid_parameter`, async () => {
          const answer = await call(harness, 'GET', `/api/rooms/${room}/events${query}`);
          expect(answer.status).to.equal(400);
          expect(answer.json.error.code).to.equal('invalid_parameter');
        });
      }

      it('answers 404 room_not_found for an unknown room', async () => {
        const answer = await call(harness, 'GET', `/api/rooms/${uniqueRoom()}/events`);
        expect(answer.status).to.equal(404);
        expect(answer.json.error.code).to.equal('room_not_found');
      });
    });

    describe('room names in paths', () => {
      const badNames = ['Lobby', '-lobby', 'a'.repeat(65), 'lob%20by', 'lob.by', '%C3%A9t%C3%A9'];
      for (const name of badNames) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['GET', '/events'],
          ['POST', '/enter'],
          ['POST', '/leave'],
          ['POST', '/say'],
        ] as const) {
          it(`refuses ${method} /api/rooms/${name.slice(0, 12)}${suffix} with 400 invalid_room`, async () => {
            const session = await newSession(harness);
            await settle(harness);
            const before = await harness.store.outboxDepth();
            const answer = await call(harness, method, `/api/rooms/${name}${suffix}`, {
              session,
              ...(method === 'POST' ? { json: { text: 'hi' } } : {}),
            });
            expect(answer.status).to.equal(400);
            expect(answer.json.error.code).to.equal('invalid_room');
            expect(await harness.store.outboxDepth()).to.equal(before);
          });
        }
      }
    });
  });
}
