import { expect } from 'chai';
import { signRequest, verifyObserveTicket } from '@parley/protocol/node';
import { checkPassword, hashPassword } from '../src/passwords.js';
import { HARNESS_STORES, TEST_SECRET, call, newSession, startHarness, uniqueRoom, type Answer, type Harness } from './harness.js';

const PASSWORD = 'correct horse battery';

let accountCounter = 0;
function uniqueUsername(prefix = 'user'): string {
  accountCounter += 1;
  return `${prefix}${accountCounter}${Math.random().toString(36).slice(2, 6)}`;
}

async function signUp(harness: Harness, username = uniqueUsername()): Promise<{ username: string; session: string }> {
  const answer = await call(harness, 'POST', '/api/accounts', { json: { username, password: PASSWORD } });
  if (answer.status !== 201) throw new Error(`sign-up failed: ${answer.status} ${answer.text}`);
  return { username, session: answer.json.session as string };
}

async function privateRoom(harness: Harness, owner: string): Promise<string> {
  const room = uniqueRoom();
  const answer = await call(harness, 'POST', '/api/rooms', { session: owner, json: { name: room, visibility: 'private' } });
  if (answer.status !== 201) throw new Error(`room not created: ${answer.status} ${answer.text}`);
  return room;
}

/** The parts of an answer a caller can compare, minus what names the room. */
function shapeOf(answer: Answer, room: string, stand: string): unknown {
  return { status: answer.status, body: answer.text.split(room).join(stand) };
}

for (const storeKind of HARNESS_STORES) {
  describe(`identity routes on ${storeKind}`, () => {
    let harness: Harness;

    before(async function () {
      this.timeout(60_000);
      harness = await startHarness({ store: storeKind });
    });

    after(async () => {
      await harness?.close();
    });

    describe('POST /api/accounts', () => {
      it('answers 201 with session, username and nickname, sets the cookie and stores an argon2id hash', async () => {
        const username = uniqueUsername('ana');
        const answer = await call(harness, 'POST', '/api/accounts', { json: { username, password: PASSWORD, nickname: 'Ana' } });
        expect(answer.status).to.equal(201);
        expect(answer.json).to.deep.equal({ session: answer.json.session, username, nickname: 'Ana' });
        expect(answer.headers.get('set-cookie')).to.match(new RegExp(`^parley_session=${answer.json.session}; Path=/;.*HttpOnly; SameSite=Lax$`));
        expect((await harness.store.findAccount(username))?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
        const me = await call(harness, 'GET', '/api/session', { session: answer.json.session });
        expect(me.json).to.deep.equal({ nickname: 'Ana', username, rooms: [] });
      });

      it('refuses a taken username with 409 username_taken', async () => {
        const { username } = await signUp(harness);
        const answer = await call(harness, 'POST', '/api/accounts', { json: { username, password: 'another password' } });
        expect(answer.status).to.equal(409);
        expect(answer.json.error.code).to.equal('username_taken');
      });

      for (const [label, username, password, code] of [
        ['a too short username', 'ab', PASSWORD, 'invalid_username'],
        ['an upper-case username', 'Alice', PASSWORD, 'invalid_username'],
        ['a username in the reserved dm- space', 'dm-alice', PASSWORD, 'invalid_username'],
        ['a password of 9 characters', 'validname', '123456789', 'weak_password'],
        ['a password of 257 characters', 'validname', 'x'.repeat(257), 'weak_password'],
      ] as const) {
        it(`refuses ${label} with 400 ${code} and creates nothing`, async () => {
          const answer = await call(harness, 'POST', '/api/accounts', { json: { username, password } });
          expect(answer.status).to.equal(400);
          expect(answer.json.error.code).to.equal(code);
          expect(await harness.store.findAccount(username)).to.equal(undefined);
        });
      }
    });

    describe('signing in: POST /api/session {username, password}', () => {
      it('answers 201 with a new token each time (never the one presented) and the account', async () => {
        const { username, session } = await signUp(harness);
        const first = await call(harness, 'POST', '/api/session', { session, json: { username, password: PASSWORD } });
        const second = await call(harness, 'POST', '/api/session', { json: { username, password: PASSWORD } });
        expect(first.status).to.equal(201);
        expect(first.json).to.deep.equal({ session: first.json.session, username, nickname: username });
        expect(new Set([session, first.json.session, second.json.session]).size).to.equal(3);
        expect((await call(harness, 'GET', '/api/session', { session: second.json.session })).json.username).to.equal(username);
      });

      it('gives the same 401 invalid_credentials for an unknown name and a wrong password, in similar time', async () => {
        const { username } = await signUp(harness);
        const timed = async (json: unknown): Promise<{ answer: Answer; ms: number }> => {
          const start = performance.now();
          const answer = await call(harness, 'POST', '/api/session', { json });
          return { answer, ms: performance.now() - start };
        };
        const wrong: number[] = [];
        const unknown: number[] = [];
        let wrongAnswer: Answer | undefined;
        let unknownAnswer: Answer | undefined;
        for (let round = 0; round < 6; round++) {
          const a = await timed({ username, password: 'not the password' });
          const b = await timed({ username: uniqueUsername('ghost'), password: 'not the password' });
          wrong.push(a.ms);
          unknown.push(b.ms);
          wrongAnswer = a.answer;
          unknownAnswer = b.answer;
        }
        expect(wrongAnswer?.status).to.equal(401);
        expect(unknownAnswer?.status).to.equal(401);
        expect(wrongAnswer?.text).to.equal(unknownAnswer?.text);
        expect(wrongAnswer?.json.error.code).to.equal('invalid_credentials');
        // Load on the machine only ever adds time: the fastest of several rounds is
        // each path's own cost. Both verify one argon2id hash: an unknown name is not
        // answered measurably faster (without the dummy verify it would take a
        // twentieth), and takes at least about one verify (timed here: machines differ).
        const fastest = (values: number[]) => Math.min(...values);
        expect(fastest(unknown) / fastest(wrong)).to.be.within(0.5, 2);
        const stored = await hashPassword('a password of this test');
        const verifies: number[] = [];
        for (let round = 0; round < 3; round++) {
          const started = performance.now();
          await checkPassword(stored, 'not the password');
          verifies.push(performance.now() - started);
        }
        expect(fastest(unknown)).to.be.above(fastest(verifies) * 0.5);
      });
    });

    describe('guests and account names', () => {
      it('refuses a guest nickname equal to an account username with 409 nickname_taken, on create and on nick', async () => {
        const { username } = await signUp(harness);
        const create = await call(harness, 'POST', '/api/session', { json: { nickname: username.toUpperCase() } });
        expect(create.status).to.equal(409);
        expect(create.json.error.code).to.equal('nickname_taken');
        const guest = await newSession(harness, 'someone');
        const nick = await call(harness, 'POST', '/api/nick', { session: guest, json: { nickname: username } });
        expect(nick.status).to.equal(409);
        expect(nick.json.error.code).to.equal('nickname_taken');
      });

      it('writes user on events: the account for an account, null for a guest', async () => {
        const ana = await signUp(harness);
        const guest = await newSession(harness, 'visitor');
        const room = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: ana.session });
        const entered = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: guest });
        const said = await call(harness, 'POST', `/api/rooms/${room}/say`, { session: ana.session, json: { text: 'hi' } });
        expect(said.json.event).to.deep.include({ user: ana.username, nickname: ana.username });
        expect(entered.json.events.map((event: { user: string | null }) => event.user)).to.deep.equal([ana.username, null]);
      });
    });

    describe('private rooms', () => {
      it('needs an account: a guest gets 403 forbidden; a reserved or taken name is refused', async () => {
        const guest = await newSession(harness, 'guest');
        const forbidden = await call(harness, 'POST', '/api/rooms', { session: guest, json: { name: uniqueRoom(), visibility: 'private' } });
        expect(forbidden.status).to.equal(403);
        expect(forbidden.json.error.code).to.equal('forbidden');
        const ana = await signUp(harness);
        const room = await privateRoom(harness, ana.session);
        const again = await call(harness, 'POST', '/api/rooms', { session: ana.session, json: { name: room, visibility: 'public' } });
        expect([again.status, again.json.error.code]).to.deep.equal([409, 'room_exists']);
        const dm = await call(harness, 'POST', '/api/rooms', { session: ana.session, json: { name: 'dm-x', visibility: 'private' } });
        expect([dm.status, dm.json.error.code]).to.deep.equal([400, 'invalid_room']);
        const bad = await call(harness, 'POST', '/api/rooms', { session: ana.session, json: { name: uniqueRoom(), visibility: 'secret' } });
        expect([bad.status, bad.json.error.code]).to.deep.equal([400, 'invalid_body']);
        const publicRoom = await call(harness, 'POST', '/api/rooms', { session: guest, json: { name: 'pub-' + uniqueRoom() } });
        expect(publicRoom.status).to.equal(201);
        expect(publicRoom.json).to.deep.equal({ room: { name: publicRoom.json.room.name, seq: 0, occupants: 0 } });
      });

      it('answers a non-member on every room endpoint exactly as for a missing room', async () => {
        const owner = await signUp(harness);
        const outsider = await signUp(harness);
        const guest = await newSession(harness, 'guest');
        const room = await privateRoom(harness, owner.session);
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: owner.session });
        await call(harness, 'POST', `/api/rooms/${room}/say`, { session: owner.session, json: { text: 'secret plans' } });
        // The same letters in another order: the badge's width depends on them.
        const missing = [...room].reverse().join('');
        const requests: Array<[string, (name: string) => string, unknown]> = [
          ['GET', (name) => `/api/rooms/${name}`, undefined],
          ['GET', (name) => `/api/rooms/${name}/events?after=0`, undefined],
          ['GET', (name) => `/api/rooms/${name}/events?callback=cb`, undefined],
          ['POST', (name) => `/api/rooms/${name}/say`, { text: 'hello?' }],
          ['POST', (name) => `/api/rooms/${name}/leave`, undefined],
          ['POST', () => '/api/observe-ticket', { room: 'ROOM' }],
        ];
        for (const caller of [undefined, guest, outsider.session]) {
          for (const [method, path, json] of requests) {
            const body = (name: string) => (json !== undefined && 'room' in (json as object) ? { room: name } : json);
            const options = (name: string) => ({ ...(caller === undefined ? {} : { session: caller }), ...(json === undefined ? {} : { json: body(name) }) });
            const hidden = await call(harness, method, path(room), options(room));
            const absent = await call(harness, method, path(missing), options(missing));
            expect(shapeOf(hidden, room, 'ROOM'), `${method} ${path(room)} as ${caller ?? 'anonymous'}`).to.deep.equal(shapeOf(absent, missing, 'ROOM'));
            expect(hidden.text).to.not.include('secret plans');
          }
        }
        // Enter creates a missing public room, so it cannot answer alike; for a private room it is 404 like every named-room read.
        for (const caller of [guest, outsider.session]) {
          const enter = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: caller });
          expect([enter.status, enter.json.error.code, enter.json.error.message]).to.deep.equal([404, 'room_not_found', `room ${room} does not exist`]);
        }
        const badge = await fetch(`${harness.baseUrl}/badge/${room}.svg`).then((response) => response.text());
        const unknownBadge = await fetch(`${harness.baseUrl}/badge/${missing}.svg`).then((response) => response.text());
        expect(badge.split(room).join('R')).to.equal(unknownBadge.split(missing).join('R'));
        expect((await harness.store.getRoom(room))?.occupants).to.deep.equal([{ nickname: owner.username }]);
      });

      it('lets the owner add a member (204) who may then enter; only the owner manages members', async () => {
        const owner = await signUp(harness);
        const member = await signUp(harness);
        const outsider = await signUp(harness);
        const room = await privateRoom(harness, owner.session);
        const add = await call(harness, 'POST', `/api/rooms/${room}/members`, { session: owner.session, json: { username: member.username } });
        expect(add.status).to.equal(204);
        const entered = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: member.session });
        expect(entered.status).to.equal(200);
        const byMember = await call(harness, 'POST', `/api/rooms/${room}/members`, { session: member.session, json: { username: outsider.username } });
        expect([byMember.status, byMember.json.error.code]).to.deep.equal([403, 'forbidden']);
        const byOutsider = await call(harness, 'POST', `/api/rooms/${room}/members`, { session: outsider.session, json: { username: outsider.username } });
        expect([byOutsider.status, byOutsider.json.error.code]).to.deep.equal([404, 'room_not_found']);
        const unknown = await call(harness, 'POST', `/api/rooms/${room}/members`, { session: owner.session, json: { username: 'nobody-here' } });
        expect([unknown.status, unknown.json.error.code]).to.deep.equal([404, 'not_found']);
        const invalid = await call(harness, 'POST', `/api/rooms/${room}/members`, { session: owner.session, json: { username: 'No Such' } });
        expect([invalid.status, invalid.json.error.code]).to.deep.equal([400, 'invalid_username']);
        const publicRoom = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${publicRoom}/enter`, { session: owner.session });
        const onPublic = await call(harness, 'POST', `/api/rooms/${publicRoom}/members`, { session: owner.session, json: { username: member.username } });
        expect([onPublic.status, onPublic.json.error.code]).to.deep.equal([403, 'forbidden']);
      });

      it('kicks a member with DELETE …/members/:username: 204, a kick event, and the room is missing to them afterwards', async () => {
        const owner = await signUp(harness);
        const member = await signUp(harness);
        const room = await privateRoom(harness, owner.session);
        await call(harness, 'POST', `/api/rooms/${room}/members`, { session: owner.session, json: { username: member.username } });
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: owner.session });
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: member.session });
        const kick = await call(harness, 'DELETE', `/api/rooms/${room}/members/${member.username}`, { session: owner.session });
        expect(kick.status).to.equal(204);
        const history = await call(harness, 'GET', `/api/rooms/${room}/events?after=0`, { session: owner.session });
        expect(history.json.events.at(-1)).to.deep.include({ type: 'kick', target: member.username, user: owner.username });
        const detail = await call(harness, 'GET', `/api/rooms/${room}`, { session: member.session });
        expect([detail.status, detail.json.error.code]).to.deep.equal([404, 'room_not_found']);
        const say = await call(harness, 'POST', `/api/rooms/${room}/say`, { session: member.session, json: { text: 'still here?' } });
        expect([say.status, say.json.error.code]).to.deep.equal([404, 'room_not_found']);
        expect((await call(harness, 'GET', '/api/session', { session: member.session })).json.rooms).to.deep.equal([]);
        const self = await call(harness, 'DELETE', `/api/rooms/${room}/members/${owner.username}`, { session: owner.session });
        expect([self.status, self.json.error.code]).to.deep.equal([403, 'forbidden']);
      });

      it('lists public rooms and only the caller\'s own private ones', async () => {
        const owner = await signUp(harness);
        const outsider = await signUp(harness);
        const room = await privateRoom(harness, owner.session);
        const names = async (session?: string) =>
          ((await call(harness, 'GET', '/api/rooms', session === undefined ? {} : { session })).json.rooms as Array<{ name: string }>).map((r) => r.name);
        expect(await names(owner.session)).to.include(room);
        expect(await names(outsider.session)).to.not.include(room);
        expect(await names()).to.not.include(room);
      });
    });

    describe('POST /api/dm', () => {
      it('gives the one private room of two accounts, the same from either side, invisible to a third', async () => {
        const ana = await signUp(harness);
        const bob = await signUp(harness);
        const eve = await signUp(harness);
        const first = await call(harness, 'POST', '/api/dm', { session: ana.session, json: { username: bob.username } });
        const second = await call(harness, 'POST', '/api/dm', { session: bob.session, json: { username: ana.username } });
        expect(first.status).to.equal(200);
        expect(first.json).to.deep.equal({ room: { name: first.json.room.name, seq: 0, occupants: 0 } });
        expect(first.json.room.name).to.match(/^dm-[0-9a-f]{40}$/);
        expect(second.json.room.name).to.equal(first.json.room.name);
        const room = first.json.room.name as string;
        expect((await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: bob.session })).status).to.equal(200);
        const byEve = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: eve.session });
        expect([byEve.status, byEve.json.error.code]).to.deep.equal([404, 'room_not_found']);
      });

      it('refuses a guest (403), oneself (400 invalid_username) and an unknown account (404 not_found)', async () => {
        const ana = await signUp(harness);
        const guest = await newSession(harness, 'guest');
        const byGuest = await call(harness, 'POST', '/api/dm', { session: guest, json: { username: ana.username } });
        expect([byGuest.status, byGuest.json.error.code]).to.deep.equal([403, 'forbidden']);
        const self = await call(harness, 'POST', '/api/dm', { session: ana.session, json: { username: ana.username } });
        expect([self.status, self.json.error.code]).to.deep.equal([400, 'invalid_username']);
        const ghost = await call(harness, 'POST', '/api/dm', { session: ana.session, json: { username: 'ghost-account' } });
        expect([ghost.status, ghost.json.error.code]).to.deep.equal([404, 'not_found']);
        const enterByName = await call(harness, 'POST', '/api/rooms/dm-made-up/enter', { session: ana.session });
        expect([enterByName.status, enterByName.json.error.code]).to.deep.equal([404, 'room_not_found']);
      });
    });

    describe('bot tokens', () => {
      it('creates, lists, uses (bot:true on events) and revokes a token; a revoked one is refused at once', async () => {
        const ana = await signUp(harness);
        const created = await call(harness, 'POST', '/api/tokens', { session: ana.session, json: { name: 'ci-bot' } });
        expect(created.status).to.equal(201);
        expect(created.json).to.have.all.keys('id', 'name', 'token', 'createdAt');
        const token = created.json.token as string;
        const room = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${room}/enter`, { session: token });
        const said = await call(harness, 'POST', `/api/rooms/${room}/say`, { session: token, json: { text: 'build passed' } });
        expect(said.json.event).to.deep.include({ nickname: 'ci-bot', user: ana.username, bot: true });
        const listed = await call(harness, 'GET', '/api/tokens', { session: ana.session });
        expect(listed.json.tokens).to.have.length(1);
        expect(listed.json.tokens[0]).to.deep.include({ id: created.json.id, name: 'ci-bot' });
        expect(JSON.stringify(listed.json)).to.not.include(token);
        const byBot = await call(harness, 'POST', '/api/tokens', { session: token, json: { name: 'another' } });
        expect([byBot.status, byBot.json.error.code]).to.deep.equal([403, 'forbidden']);
        expect((await call(harness, 'DELETE', `/api/tokens/${created.json.id}`, { session: ana.session })).status).to.equal(204);
        const after = await call(harness, 'POST', `/api/rooms/${room}/say`, { session: token, json: { text: 'again' } });
        expect([after.status, after.json.error.code]).to.deep.equal([401, 'unauthorized']);
        const again = await call(harness, 'DELETE', `/api/tokens/${created.json.id}`, { session: ana.session });
        expect([again.status, again.json.error.code]).to.deep.equal([404, 'not_found']);
        const guest = await newSession(harness, 'guest');
        const byGuest = await call(harness, 'POST', '/api/tokens', { session: guest, json: { name: 'x' } });
        expect([byGuest.status, byGuest.json.error.code]).to.deep.equal([403, 'forbidden']);
      });
    });

    describe('POST /api/observe-ticket', () => {
      it('gives a member a short-lived ticket naming only that room', async () => {
        const ana = await signUp(harness);
        const room = await privateRoom(harness, ana.session);
        const answer = await call(harness, 'POST', '/api/observe-ticket', { session: ana.session, json: { room } });
        expect(answer.status).to.equal(201);
        expect(answer.json).to.have.all.keys('ticket', 'room', 'expiresAt');
        expect(answer.json.ticket).to.not.include(ana.session);
        expect(verifyObserveTicket(TEST_SECRET, answer.json.ticket)).to.deep.equal({ room, expiresAt: answer.json.expiresAt });
        expect(answer.json.expiresAt - Date.now()).to.be.within(500_000, 600_000);
      });
    });

    describe('POST /internal/access (signed, for chatservers)', () => {
      it('tells each room\'s access for a session hash: public, missing, member, hidden', async () => {
        const ana = await signUp(harness);
        const room = await privateRoom(harness, ana.session);
        const open = uniqueRoom();
        await call(harness, 'POST', `/api/rooms/${open}/enter`, { session: ana.session });
        const { hashSessionToken } = await import('@parley/protocol/node');
        const ask = async (session: string | null) => {
          const body = JSON.stringify({ session, rooms: [room, open, 'not-there'] });
          const headers = signRequest(TEST_SECRET, { method: 'POST', path: '/internal/access', body });
          return call(harness, 'POST', '/internal/access', { body, headers: { ...headers, 'content-type': 'application/json' } });
        };
        expect((await ask(hashSessionToken(ana.session))).json).to.deep.equal({
          access: { [room]: 'member', [open]: 'public', 'not-there': 'missing' },
          sessionLive: true,
        });
        expect((await ask(null)).json.access[room]).to.equal('hidden');
        // A made-up token is no session: the chatserver serves it as anonymous.
        const madeUp = (await ask(hashSessionToken('made-up-token-that-no-session-has'))).json;
        expect(madeUp).to.deep.equal({ access: { [room]: 'hidden', [open]: 'public', 'not-there': 'missing' }, sessionLive: false });
        const unsigned = await call(harness, 'POST', '/internal/access', { json: { session: null, rooms: [room] } });
        expect(unsigned.status).to.equal(401);
      });
    });
  });
}
