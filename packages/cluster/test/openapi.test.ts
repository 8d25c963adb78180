import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Agent, fetch } from 'undici';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/supervisor.js';
import { uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { HTTP_METHODS, OpenApiContract, type ContractAnswer } from './helpers/openapi-contract.js';

/**
 * The public contract, docs/openapi.yaml, against a whole cluster through
 * nginx: every documented status of every operation is produced by a real
 * request, and every answer is validated against the document (status,
 * required headers, content type, body) by Ajv. An answer whose status the
 * operation does not list fails at once; the last test fails if any
 * documented status was never produced.
 *
 * Adding an endpoint: its block in docs/openapi.yaml, then a `describe` here
 * with one call per status through `exchange`.
 */

// Low limits so that 429 and 503 are cheap to reach. Every session is created
// from its own source address (127.0.0.x), so the per-address session limit
// bites only where a test means it to.
const LIMITS = {
  PARLEY_RATE_SESSION_PER_IP: '3',
  PARLEY_RATE_SAY_PER_SESSION: '3',
  PARLEY_RATE_ENTER_PER_SESSION: '3',
  PARLEY_RATE_SIGNUP_PER_IP: '2',
  PARLEY_RATE_SIGNIN_PER_IP: '2',
  PARLEY_CHAT_MAX_OBSERVES_PER_SESSION: '1',
  PARLEY_CHAT_MAX_OBSERVERS: '3',
};
// Documented answers this test cannot produce on a healthy cluster (a full
// disk, a database down), each with the reason and the test that does
// produce it. Keys as `contract.unexercised()` lists them. Keep it short.
const PRODUCED_ELSEWHERE: Readonly<Record<string, string>> = {};
const TOO_LARGE = JSON.stringify({ nickname: 'x'.repeat(20_000) }); // over the web tier's 16 KiB, under nginx's 64 KiB

/** One request of the test. */
interface Call {
  /** Concrete path and query. */
  path: string;
  /** Sent as `Authorization: Bearer`. */
  session?: string;
  /** Sent as the `parley_session` cookie (no `X-Requested-With` unless in `headers`). */
  cookie?: string;
  headers?: Record<string, string>;
  /** Sent as an `application/json` body. */
  json?: unknown;
  /** Sent as is, with its content type. */
  raw?: { body: string; type: string };
  /** Source address (127.0.0.x). @default the system's choice */
  from?: string;
  signal?: AbortSignal;
}

describe('the public contract (docs/openapi.yaml), through nginx', function () {
  this.timeout(60_000);
  const fixture = useCluster({ env: LIMITS });
  const contract = OpenApiContract.load();
  const agents = new Map<string, Agent>();
  let nextAddress = 10;

  after(async () => {
    await Promise.all([...agents.values()].map((agent) => agent.close()));
  });

  /** A source address no earlier request used. */
  function freshAddress(): string {
    if (nextAddress > 250) throw new Error('out of source addresses');
    return `127.0.0.${nextAddress++}`;
  }

  /** Sends a request and answers the raw result, without checking it. */
  async function send(method: string, call: Call): Promise<ContractAnswer> {
    const headers: Record<string, string> = { ...call.headers };
    if (call.session !== undefined) headers.authorization = `Bearer ${call.session}`;
    if (call.cookie !== undefined) headers.cookie = `parley_session=${call.cookie}`;
    let body: string | undefined;
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.json);
    } else if (call.raw !== undefined) {
      headers['content-type'] = call.raw.type;
      body = call.raw.body;
    }
    let dispatcher: Agent | undefined;
    if (call.from !== undefined) {
      dispatcher = agents.get(call.from) ?? new Agent({ localAddress: call.from });
      agents.set(call.from, dispatcher);
    }
    const response = await fetch(`${fixture.cluster.publicUrl}${call.path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(dispatcher === undefined ? {} : { dispatcher }),
      signal: call.signal ?? AbortSignal.timeout(30_000),
    });
    return { status: response.status, headers: new Headers([...response.headers]), text: await response.text() };
  }

  /**
   * Sends `call` as `operation` (`POST /api/rooms/{room}/say`), expects
   * `status`, and validates the answer against the document.
   */
  async function exchange(operation: string, status: number, call: Call): Promise<ContractAnswer> {
    const method = operation.split(' ')[0] ?? 'GET';
    const answer = await send(method, call);
    expect(answer.status, `${operation} (${call.path}) answered ${answer.status}: ${answer.text.slice(0, 300)}`).to.equal(status);
    contract.check(operation, answer);
    return answer;
  }

  async function newSession(nickname = 'alice'): Promise<string> {
    const answer = await exchange('POST /api/session', 201, { path: '/api/session', json: { nickname }, from: freshAddress() });
    return (JSON.parse(answer.text) as { session: string }).session;
  }

  /** A session that has entered a fresh room (which now exists). */
  async function sessionInRoom(): Promise<{ session: string; room: string }> {
    const session = await newSession();
    const room = uniqueRoom('api');
    await exchange('POST /api/rooms/{room}/enter', 200, { path: `/api/rooms/${room}/enter`, session });
    return { session, room };
  }

  describe('POST /api/session', () => {
    const operation = 'POST /api/session';

    it('201: the session, and the cookie', async () => {
      const answer = await exchange(operation, 201, { path: '/api/session', json: { nickname: ' bob ' }, from: freshAddress() });
      expect(JSON.parse(answer.text)).to.include({ nickname: 'bob' });
    });

    it('400 invalid_nickname, 413 and 415', async () => {
      await exchange(operation, 400, { path: '/api/session', json: { nickname: '' } });
      await exchange(operation, 413, { path: '/api/session', raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: '/api/session', raw: { body: 'nickname=bob', type: 'application/x-www-form-urlencoded' } });
    });

    it('429 past the sessions one address may create in a minute', async () => {
      const from = freshAddress();
      for (let i = 0; i < Number(LIMITS.PARLEY_RATE_SESSION_PER_IP); i++) await exchange(operation, 201, { path: '/api/session', json: { nickname: 'eve' }, from });
      await exchange(operation, 429, { path: '/api/session', json: { nickname: 'eve' }, from });
    });
  });

  let accountCounter = 0;
  /** Signs up a fresh account from a fresh address; answers its username and session. */
  async function newAccount(): Promise<{ username: string; session: string }> {
    const username = `acct${++accountCounter}${Math.random().toString(36).slice(2, 7)}`;
    const answer = await exchange('POST /api/accounts', 201, {
      path: '/api/accounts',
      json: { username, password: 'a good long password' },
      from: freshAddress(),
    });
    return { username, session: (JSON.parse(answer.text) as { session: string }).session };
  }

  async function privateRoomOf(session: string): Promise<string> {
    const room = uniqueRoom('priv');
    await exchange('POST /api/rooms', 201, { path: '/api/rooms', session, json: { name: room, visibility: 'private' } });
    return room;
  }

  describe('signing in, POST /api/session {username, password}', () => {
    const operation = 'POST /api/session';

    it('201 signed in, 401 invalid_credentials, 409 nickname_taken, 429 past the sign-ins of an address', async () => {
      const { username } = await newAccount();
      const answer = await exchange(operation, 201, { path: '/api/session', json: { username, password: 'a good long password' }, from: freshAddress() });
      expect(JSON.parse(answer.text)).to.include({ username });
      const from = freshAddress();
      await exchange(operation, 401, { path: '/api/session', json: { username, password: 'wrong password' }, from });
      await exchange(operation, 401, { path: '/api/session', json: { username: 'no-such-user', password: 'wrong password' }, from });
      await exchange(operation, 429, { path: '/api/session', json: { username, password: 'a good long password' }, from });
      await exchange(operation, 409, { path: '/api/session', json: { nickname: username }, from: freshAddress() });
    });
  });

  describe('POST /api/accounts', () => {
    const operation = 'POST /api/accounts';

    it('201, 400, 409, 413, 415 and 429', async () => {
      const { username } = await newAccount();
      await exchange(operation, 409, { path: '/api/accounts', json: { username, password: 'a good long password' }, from: freshAddress() });
      await exchange(operation, 400, { path: '/api/accounts', json: { username: 'x', password: 'a good long password' } });
      await exchange(operation, 400, { path: '/api/accounts', json: { username: 'valid-name', password: 'short' } });
      await exchange(operation, 413, { path: '/api/accounts', raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: '/api/accounts', raw: { body: 'x', type: 'text/plain' } });
      const from = freshAddress();
      for (let i = 0; i < Number(LIMITS.PARLEY_RATE_SIGNUP_PER_IP); i++) {
        await exchange(operation, 201, { path: '/api/accounts', json: { username: `lim${i}${Math.random().toString(36).slice(2, 8)}`, password: 'a good long password' }, from });
      }
      await exchange(operation, 429, { path: '/api/accounts', json: { username: 'over-the-limit', password: 'a good long password' }, from });
    });
  });

  describe('POST /api/nick (accounts)', () => {
    it('409 nickname_taken for an account\'s username', async () => {
      const { username } = await newAccount();
      const session = await newSession();
      await exchange('POST /api/nick', 409, { path: '/api/nick', session, json: { nickname: username } });
    });
  });

  describe('POST /api/rooms', () => {
    const operation = 'POST /api/rooms';

    it('201 public and private, 400, 401, 403 for a guest\'s private room, 409 room_exists', async () => {
      const guest = await newSession();
      const publicRoom = uniqueRoom('pub');
      await exchange(operation, 201, { path: '/api/rooms', session: guest, json: { name: publicRoom } });
      await exchange(operation, 409, { path: '/api/rooms', session: guest, json: { name: publicRoom } });
      await exchange(operation, 403, { path: '/api/rooms', session: guest, json: { name: uniqueRoom('p'), visibility: 'private' } });
      await exchange(operation, 400, { path: '/api/rooms', session: guest, json: { name: 'dm-reserved' } });
      await exchange(operation, 401, { path: '/api/rooms', json: { name: uniqueRoom('p') } });
      const { session } = await newAccount();
      await privateRoomOf(session);
    });
  });

  describe('private room members', () => {
    it('POST …/members: 204, 400, 401, 403, 404; DELETE …/members/{username}: 204, 400, 401, 403, 404; enter: 404', async () => {
      const owner = await newAccount();
      const member = await newAccount();
      const room = await privateRoomOf(owner.session);
      const add = 'POST /api/rooms/{room}/members';
      const remove = 'DELETE /api/rooms/{room}/members/{username}';
      await exchange('POST /api/rooms/{room}/enter', 404, { path: `/api/rooms/${room}/enter`, session: member.session });
      await exchange(add, 204, { path: `/api/rooms/${room}/members`, session: owner.session, json: { username: member.username } });
      await exchange('POST /api/rooms/{room}/enter', 200, { path: `/api/rooms/${room}/enter`, session: member.session });
      await exchange(add, 400, { path: `/api/rooms/${room}/members`, session: owner.session, json: { username: 'Not Valid' } });
      await exchange(add, 401, { path: `/api/rooms/${room}/members`, json: { username: member.username } });
      await exchange(add, 403, { path: `/api/rooms/${room}/members`, session: member.session, json: { username: member.username } });
      await exchange(add, 404, { path: `/api/rooms/${room}/members`, session: owner.session, json: { username: 'nobody-at-all' } });
      await exchange(remove, 400, { path: `/api/rooms/${room}/members/Bad%20Name`, session: owner.session });
      await exchange(remove, 401, { path: `/api/rooms/${room}/members/${member.username}` });
      await exchange(remove, 403, { path: `/api/rooms/${room}/members/${owner.username}`, session: member.session });
      await exchange(remove, 204, { path: `/api/rooms/${room}/members/${member.username}`, session: owner.session });
      await exchange(remove, 404, { path: `/api/rooms/${room}/members/${owner.username}`, session: member.session });
    });
  });

  describe('POST /api/dm', () => {
    it('200, 400, 401, 403, 404', async () => {
      const ana = await newAccount();
      const bob = await newAccount();
      const answer = await exchange('POST /api/dm', 200, { path: '/api/dm', session: ana.session, json: { username: bob.username } });
      expect(JSON.parse(answer.text).room.name).to.match(/^dm-/);
      await exchange('POST /api/dm', 400, { path: '/api/dm', session: ana.session, json: { username: ana.username } });
      await exchange('POST /api/dm', 401, { path: '/api/dm', json: { username: bob.username } });
      await exchange('POST /api/dm', 403, { path: '/api/dm', session: await newSession(), json: { username: bob.username } });
      await exchange('POST /api/dm', 404, { path: '/api/dm', session: ana.session, json: { username: 'nobody-at-all' } });
    });
  });

  describe('bot tokens', () => {
    it('POST /api/tokens 201, 400, 401, 403; GET 200, 401, 403; DELETE /api/tokens/{id} 204, 401, 403, 404', async () => {
      const ana = await newAccount();
      const guest = await newSession();
      const created = await exchange('POST /api/tokens', 201, { path: '/api/tokens', session: ana.session, json: { name: 'ci-bot' } });
      const { id, token } = JSON.parse(created.text) as { id: string; token: string };
      await exchange('POST /api/tokens', 400, { path: '/api/tokens', session: ana.session, json: { name: '' } });
      await exchange('POST /api/tokens', 401, { path: '/api/tokens', json: { name: 'x' } });
      await exchange('POST /api/tokens', 403, { path: '/api/tokens', session: token, json: { name: 'x' } });
      await exchange('GET /api/tokens', 200, { path: '/api/tokens', session: ana.session });
      await exchange('GET /api/tokens', 401, { path: '/api/tokens' });
      await exchange('GET /api/tokens', 403, { path: '/api/tokens', session: guest });
      await exchange('DELETE /api/tokens/{id}', 401, { path: `/api/tokens/${id}` });
      await exchange('DELETE /api/tokens/{id}', 403, { path: `/api/tokens/${id}`, session: guest });
      await exchange('DELETE /api/tokens/{id}', 204, { path: `/api/tokens/${id}`, session: ana.session });
      await exchange('DELETE /api/tokens/{id}', 404, { path: `/api/tokens/${id}`, session: ana.session });
    });
  });

  describe('POST /api/observe-ticket', () => {
    it('201, 400, 401, 404', async () => {
      const ana = await newAccount();
      const room = await privateRoomOf(ana.session);
      await exchange('POST /api/observe-ticket', 201, { path: '/api/observe-ticket', session: ana.session, json: { room } });
      await exchange('POST /api/observe-ticket', 400, { path: '/api/observe-ticket', session: ana.session, json: { room: 'Bad Room' } });
      await exchange('POST /api/observe-ticket', 401, { path: '/api/observe-ticket', json: { room } });
      await exchange('POST /api/observe-ticket', 404, { path: '/api/observe-ticket', session: await newSession(), json: { room } });
    });
  });

  describe('GET /api/session', () => {
    const operation = 'GET /api/session';

    it('200 as JSON and as JSONP, 400 for a bad callback, 401 without a session', async () => {
      const session = await newSession('carol');
      const answer = await exchange(operation, 200, { path: '/api/session', session });
      expect(JSON.parse(answer.text)).to.deep.equal({ nickname: 'carol', username: null, rooms: [] });
      await exchange(operation, 200, { path: '/api/session?callback=Parley.me', session });
      await exchange(operation, 400, { path: '/api/session?callback=1bad', session });
      await exchange(operation, 400, { path: `/api/session?session=${session}` });
      await exchange(operation, 401, { path: '/api/session' });
    });
  });

  describe('DELETE /api/session', () => {
    const operation = 'DELETE /api/session';

    it('204, then 401 for the same session; 403 for a cookie without X-Requested-With', async () => {
      const session = await newSession();
      await exchange(operation, 403, { path: '/api/session', cookie: session });
      await exchange(operation, 204, { path: '/api/session', session });
      await exchange(operation, 401, { path: '/api/session', session });
    });
  });

  describe('POST /api/nick', () => {
    const operation = 'POST /api/nick';

    it('200, 400, 401, 403, 413 and 415', async () => {
      const session = await newSession();
      const answer = await exchange(operation, 200, { path: '/api/nick', session, json: { nickname: 'alicia' } });
      expect(JSON.parse(answer.text)).to.deep.equal({ nickname: 'alicia' });
      await exchange(operation, 400, { path: '/api/nick', session, json: { nickname: 'a\u202eb' } });
      await exchange(operation, 401, { path: '/api/nick', json: { nickname: 'x' } });
      await exchange(operation, 403, { path: '/api/nick', cookie: session, json: { nickname: 'x' } });
      await exchange(operation, 413, { path: '/api/nick', session, raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: '/api/nick', session, raw: { body: 'x', type: 'text/plain' } });
    });
  });

  describe('GET /api/rooms', () => {
    it('200 as JSON and as JSONP, 400 for a bad callback', async () => {
      const { room } = await sessionInRoom();
      const answer = await exchange('GET /api/rooms', 200, { path: '/api/rooms' });
      expect((JSON.parse(answer.text) as { rooms: Array<{ name: string }> }).rooms.map((entry) => entry.name)).to.include(room);
      await exchange('GET /api/rooms', 200, { path: '/api/rooms?callback=cb' });
      await exchange('GET /api/rooms', 400, { path: '/api/rooms?callback=a-b' });
    });
  });

  describe('GET /api/rooms/{room}', () => {
    const operation = 'GET /api/rooms/{room}';

    it('200 as JSON and as JSONP (an error inside), 400 invalid_room, 404 room_not_found', async () => {
      const { room } = await sessionInRoom();
      const answer = await exchange(operation, 200, { path: `/api/rooms/${room}` });
      expect(JSON.parse(answer.text)).to.deep.equal({ name: room, seq: 1, occupants: [{ nickname: 'alice' }] });
      await exchange(operation, 200, { path: `/api/rooms/${room}?callback=cb` });
      const missing = await exchange(operation, 200, { path: `/api/rooms/${uniqueRoom('none')}?callback=cb` });
      expect(missing.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"room_not_found"/);
      await exchange(operation, 400, { path: '/api/rooms/Lobby' });
      await exchange(operation, 404, { path: `/api/rooms/${uniqueRoom('none')}` });
    });
  });

  describe('POST /api/rooms/{room}/enter', () => {
    const operation = 'POST /api/rooms/{room}/enter';

    it('200 with the room and its latest events, 400, 401, 403, 413 and 415', async () => {
      const session = await newSession();
      const room = uniqueRoom('enter');
      const answer = await exchange(operation, 200, { path: `/api/rooms/${room}/enter`, session, json: {} });
      expect((JSON.parse(answer.text) as { events: Array<{ type: string }> }).events.map((event) => event.type)).to.deep.equal(['enter']);
      await exchange(operation, 400, { path: '/api/rooms/-bad/enter', session });
      await exchange(operation, 401, { path: `/api/rooms/${room}/enter` });
      await exchange(operation, 403, { path: `/api/rooms/${room}/enter`, cookie: session });
      await exchange(operation, 413, { path: `/api/rooms/${room}/enter`, session, raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: `/api/rooms/${room}/enter`, session, raw: { body: 'x', type: 'text/plain' } });
    });

    it('429 past the enters one session may make in a minute', async () => {
      const session = await newSession();
      for (let i = 0; i < Number(LIMITS.PARLEY_RATE_ENTER_PER_SESSION); i++) {
        await exchange(operation, 200, { path: `/api/rooms/${uniqueRoom('many')}/enter`, session });
      }
      await exchange(operation, 429, { path: `/api/rooms/${uniqueRoom('many')}/enter`, session });
    });
  });

  describe('POST /api/rooms/{room}/leave', () => {
    const operation = 'POST /api/rooms/{room}/leave';

    it('204, 400, 401, 403, 404, 413 and 415', async () => {
      const { session, room } = await sessionInRoom();
      await exchange(operation, 400, { path: `/api/rooms/${room}/leave`, session, raw: { body: '[1]', type: 'application/json' } });
      await exchange(operation, 401, { path: `/api/rooms/${room}/leave` });
      await exchange(operation, 403, { path: `/api/rooms/${room}/leave`, cookie: session });
      await exchange(operation, 404, { path: `/api/rooms/${uniqueRoom('none')}/leave`, session });
      await exchange(operation, 413, { path: `/api/rooms/${room}/leave`, session, raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: `/api/rooms/${room}/leave`, session, raw: { body: 'x', type: 'text/plain' } });
      await exchange(operation, 204, { path: `/api/rooms/${room}/leave`, session });
    });
  });

  describe('POST /api/rooms/{room}/say', () => {
    const operation = 'POST /api/rooms/{room}/say';

    it('201 with the event, 400, 401, 403, 404, 409, 413 and 415', async () => {
      const { session, room } = await sessionInRoom();
      const answer = await exchange(operation, 201, { path: `/api/rooms/${room}/say`, session, json: { text: 'hello', clientId: 'c-1' } });
      expect((JSON.parse(answer.text) as { event: object }).event).to.include({ room, seq: 2, type: 'message', text: 'hello' });
      await exchange(operation, 400, { path: `/api/rooms/${room}/say`, session, json: { text: '   ' } });
      await exchange(operation, 401, { path: `/api/rooms/${room}/say`, json: { text: 'hi' } });
      await exchange(operation, 403, { path: `/api/rooms/${room}/say`, cookie: session, json: { text: 'hi' } });
      await exchange(operation, 404, { path: `/api/rooms/${uniqueRoom('none')}/say`, session, json: { text: 'hi' } });
      const outsider = await newSession('mallory');
      await exchange(operation, 409, { path: `/api/rooms/${room}/say`, session: outsider, json: { text: 'hi' } });
      await exchange(operation, 413, { path: `/api/rooms/${room}/say`, session, raw: { body: TOO_LARGE, type: 'application/json' } });
      await exchange(operation, 415, { path: `/api/rooms/${room}/say`, session, raw: { body: 'hi', type: 'text/plain' } });
    });

    it('429 past the says one session may make in a minute', async () => {
      const { session, room } = await sessionInRoom();
      for (let i = 0; i < Number(LIMITS.PARLEY_RATE_SAY_PER_SESSION); i++) {
        await exchange(operation, 201, { path: `/api/rooms/${room}/say`, session, json: { text: `line ${i}` } });
      }
      await exchange(operation, 429, { path: `/api/rooms/${room}/say`, session, json: { text: 'one too many' } });
    });
  });

  describe('GET /api/rooms/{room}/events', () => {
    const operation = 'GET /api/rooms/{room}/events';

    it('200 as JSON and as JSONP, 400 invalid_parameter, 404 room_not_found', async () => {
      const { room } = await sessionInRoom();
      const answer = await exchange(operation, 200, { path: `/api/rooms/${room}/events?after=0&limit=10` });
      expect((JSON.parse(answer.text) as { events: Array<{ seq: number }> }).events.map((event) => event.seq)).to.deep.equal([1]);
      await exchange(operation, 200, { path: `/api/rooms/${room}/events?before=2&callback=cb` });
      await exchange(operation, 400, { path: `/api/rooms/${room}/events?after=1&before=3` });
      await exchange(operation, 404, { path: `/api/rooms/${uniqueRoom('none')}/events` });
    });
  });

  describe('PATCH and DELETE /api/rooms/{room}/events/{seq}, GET /api/rooms/{room}/search', () => {
    it('PATCH: 200 with the edit event, 400, 401, 403 (forbidden, csrf_required), 404 (room, message), 415', async () => {
      const operation = 'PATCH /api/rooms/{room}/events/{seq}';
      const { session, room } = await sessionInRoom();
      await exchange('POST /api/rooms/{room}/say', 201, { path: `/api/rooms/${room}/say`, session, json: { text: 'helo' } });
      const answer = await exchange(operation, 200, { path: `/api/rooms/${room}/events/2`, session, json: { text: 'hello' } });
      expect((JSON.parse(answer.text) as { event: object }).event).to.include({ room, seq: 3, type: 'edit', target: 2, text: 'hello' });
      await exchange(operation, 400, { path: `/api/rooms/${room}/events/2`, session, json: { text: ' ' } });
      await exchange(operation, 401, { path: `/api/rooms/${room}/events/2`, json: { text: 'x' } });
      await exchange(operation, 403, { path: `/api/rooms/${room}/events/2`, session: await newSession('mallory'), json: { text: 'x' } });
      await exchange(operation, 403, { path: `/api/rooms/${room}/events/2`, cookie: session, json: { text: 'x' } });
      await exchange(operation, 404, { path: `/api/rooms/${room}/events/1`, session, json: { text: 'x' } });
      await exchange(operation, 415, { path: `/api/rooms/${room}/events/2`, session, raw: { body: 'x', type: 'text/plain' } });
      await exchange(operation, 413, { path: `/api/rooms/${room}/events/2`, session, raw: { body: TOO_LARGE, type: 'application/json' } });
      // Edits and deletions count as says: the say, the edit and the 404 above used this minute's three.
      await exchange(operation, 429, { path: `/api/rooms/${room}/events/2`, session, json: { text: 'x' } });
      await exchange('DELETE /api/rooms/{room}/events/{seq}', 429, { path: `/api/rooms/${room}/events/2`, session });
      await exchange(operation, 404, { path: `/api/rooms/${uniqueRoom('none')}/events/1`, session: await newSession('bob'), json: { text: 'x' } });
    });

    it('DELETE: 204, 400, 401, 403, 404; then search: 200 without it, 400, 404', async () => {
      const { session, room } = await sessionInRoom();
      await exchange('POST /api/rooms/{room}/say', 201, { path: `/api/rooms/${room}/say`, session, json: { text: 'findable words' } });
      await exchange('POST /api/rooms/{room}/say', 201, { path: `/api/rooms/${room}/say`, session, json: { text: 'findable secret' } });
      const operation = 'DELETE /api/rooms/{room}/events/{seq}';
      await exchange(operation, 400, { path: `/api/rooms/${room}/events/0`, session });
      await exchange(operation, 401, { path: `/api/rooms/${room}/events/3` });
      await exchange(operation, 403, { path: `/api/rooms/${room}/events/3`, session: await newSession('mallory') });
      await exchange(operation, 404, { path: `/api/rooms/${room}/events/99`, session: await newSession('bob') });
      await exchange(operation, 204, { path: `/api/rooms/${room}/events/3`, session });
      const search = 'GET /api/rooms/{room}/search';
      const found = await exchange(search, 200, { path: `/api/rooms/${room}/search?q=findable` });
      expect((JSON.parse(found.text) as { events: Array<{ seq: number }> }).events.map((event) => event.seq)).to.deep.equal([2]);
      await exchange(search, 400, { path: `/api/rooms/${room}/search?q=` });
      await exchange(search, 404, { path: `/api/rooms/${uniqueRoom('none')}/search?q=x` });
      const history = await exchange('GET /api/rooms/{room}/events', 200, { path: `/api/rooms/${room}/events?after=0` });
      expect(history.text).to.not.include('secret');
    });
  });

  describe('GET /healthz, GET /api/openapi.json', () => {
    it('GET /healthz: 200', async () => {
      await exchange('GET /healthz', 200, { path: '/healthz' });
    });

    it('GET /api/openapi.json: 200 is docs/openapi.yaml as JSON, cacheable; 304 with its ETag; JSONP; 400 for a bad callback', async () => {
      const operation = 'GET /api/openapi.json';
      const answer = await exchange(operation, 200, { path: '/api/openapi.json' });
      expect(JSON.parse(answer.text)).to.deep.equal(parse(readFileSync(join(REPO_ROOT, 'docs/openapi.yaml'), 'utf8')));
      expect(answer.headers.get('cache-control')).to.equal('public, max-age=300');
      await exchange(operation, 304, { path: '/api/openapi.json', headers: { 'if-none-match': answer.headers.get('etag') ?? '' } });
      await exchange(operation, 200, { path: '/api/openapi.json?callback=cb' });
      await exchange(operation, 400, { path: '/api/openapi.json?callback=new' });
    });
  });

  describe('the badge and the pages', () => {
    it('GET /badge.js: 200, then 304 with its ETag', async () => {
      const answer = await exchange('GET /badge.js', 200, { path: '/badge.js' });
      await exchange('GET /badge.js', 304, { path: '/badge.js', headers: { 'if-none-match': answer.headers.get('etag') ?? '' } });
    });

    it('GET /badge/{room}.svg: 200 (also for a room nobody entered), 304, 400 invalid_room', async () => {
      const { room } = await sessionInRoom();
      const answer = await exchange('GET /badge/{room}.svg', 200, { path: `/badge/${room}.svg` });
      expect(answer.text).to.include(`${room}: 1 online`);
      await exchange('GET /badge/{room}.svg', 200, { path: `/badge/${uniqueRoom('none')}.svg` });
      await exchange('GET /badge/{room}.svg', 304, { path: `/badge/${room}.svg`, headers: { 'if-none-match': answer.headers.get('etag') ?? '' } });
      await exchange('GET /badge/{room}.svg', 400, { path: '/badge/No.svg' });
    });

    it('GET /, GET /rooms/{room} (400 for a bad name), GET /assets/{file} (304, 404) and GET /favicon.ico', async () => {
      await exchange('GET /', 200, { path: '/' });
      await exchange('GET /rooms/{room}', 200, { path: '/rooms/lobby' });
      await exchange('GET /rooms/{room}', 400, { path: '/rooms/Not%20a%20room' });
      const script = await exchange('GET /assets/{file}', 200, { path: '/assets/app.js' });
      await exchange('GET /assets/{file}', 200, { path: '/assets/app.css' });
      await exchange('GET /assets/{file}', 304, { path: '/assets/app.js', headers: { 'if-none-match': script.headers.get('etag') ?? '' } });
      await exchange('GET /assets/{file}', 404, { path: '/assets/nothing.js' });
      await exchange('GET /assets/{file}', 200, { path: '/assets/favicon.svg' });
      const icon = await exchange('GET /favicon.ico', 200, { path: '/favicon.ico' });
      await exchange('GET /favicon.ico', 304, { path: '/favicon.ico', headers: { 'if-none-match': icon.headers.get('etag') ?? '' } });
    });
  });

  // Last of the operations: these park observes, with low limits on purpose.
  describe('GET /api/observe', () => {
    const operation = 'GET /api/observe';

    it('200 with the event a say wakes it with, and at once with wait=0, as JSON and JSONP', async () => {
      const { session, room } = await sessionInRoom();
      const parked = exchange(operation, 200, { path: `/api/observe?rooms=${room}:1&wait=20` });
      // Parked or not yet, the observe answers with the event after its cursor.
      await exchange('POST /api/rooms/{room}/say', 201, { path: `/api/rooms/${room}/say`, session, json: { text: 'wake up' } });
      const answer = JSON.parse((await parked).text) as { events: Array<{ seq: number; text?: string }>; cursor: string };
      expect(answer.events.map((event) => [event.seq, event.text])).to.deep.equal([[2, 'wake up']]);
      expect(answer.cursor).to.equal(`${room}:2`);
      await exchange(operation, 200, { path: `/api/observe?rooms=${room}:0&wait=0` });
      await exchange(operation, 200, { path: `/api/observe?rooms=${room}&wait=0&callback=Parley.onEvents` });
    });

    it('400 invalid_cursor, invalid_parameter, invalid_callback and session_in_url', async () => {
      await exchange(operation, 400, { path: '/api/observe?rooms=Lobby:1' });
      await exchange(operation, 400, { path: `/api/observe?rooms=lobby:0&wait=0&session=${await newSession()}` });
      await exchange(operation, 400, { path: '/api/observe?rooms=lobby:0&wait=56' });
      await exchange(operation, 400, { path: '/api/observe?rooms=lobby:0&callback=alert(1)' });
    });

    it('429 when the session already has its one observe waiting on that chatserver', async () => {
      const session = await newSession();
      const room = uniqueRoom('parked');
      const stop = new AbortController();
      // Two chatservers, one parked observe each per session: of three, one is refused.
      const observes = [0, 1, 2].map((index) =>
        send('GET', { path: `/api/observe?rooms=${room}:0&wait=30&n=${index}`, session, signal: stop.signal }).then((answer) => ({ answer })),
      );
      try {
        const { answer } = await Promise.race(observes);
        expect(answer.status, answer.text).to.equal(429);
        contract.check(operation, answer);
        expect(answer.headers.get('retry-after')).to.equal('5');
      } finally {
        stop.abort();
        await Promise.allSettled(observes);
      }
    });

    it('503 when the chatservers hold as many observes as they may', async () => {
      const stop = new AbortController();
      // 3 per chatserver: of ten, at most six can park.
      const observes = Array.from({ length: 10 }, (_, index) =>
        send('GET', { path: `/api/observe?rooms=${uniqueRoom('full')}:0&wait=30&n=${index}`, signal: stop.signal }).then((answer) => ({ answer })),
      );
      try {
        const { answer } = await Promise.race(observes);
        expect(answer.status, answer.text).to.equal(503);
        contract.check(operation, answer);
      } finally {
        stop.abort();
        await Promise.allSettled(observes);
      }
    });
  });

  describe('GET /api/observe/stream', () => {
    const operation = 'GET /api/observe/stream';

    /** Opens a stream, reads until its ready event (or a whole error answer), then leaves. */
    async function openStream(call: Call): Promise<ContractAnswer> {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), 10_000);
      const headers: Record<string, string> = { ...call.headers };
      if (call.session !== undefined) headers.authorization = `Bearer ${call.session}`;
      try {
        const response = await fetch(`${fixture.cluster.publicUrl}${call.path}`, { headers, signal: stop.signal });
        const answerHeaders = new Headers([...response.headers]);
        if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
          return { status: response.status, headers: answerHeaders, text: await response.text() };
        }
        let text = '';
        const decoder = new TextDecoder();
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          text += decoder.decode(chunk, { stream: true });
          if (text.includes('\n\n')) break;
        }
        return { status: response.status, headers: answerHeaders, text };
      } finally {
        clearTimeout(timer);
        stop.abort();
      }
    }

    it('200: the stream, starting with the ready event; Last-Event-ID wins over rooms', async () => {
      const { room } = await sessionInRoom();
      const answer = await openStream({ path: `/api/observe/stream?rooms=${room}` });
      expect(answer.status).to.equal(200);
      contract.check(operation, answer);
      expect(answer.text).to.equal(`retry: 1000\nevent: ready\nid: ${room}:1\ndata: {"cursor":"${room}:1"}\n\n`);
      const resumed = await openStream({ path: `/api/observe/stream?rooms=${room}`, headers: { 'last-event-id': `${room}:0` } });
      expect(resumed.text).to.include(`\nid: ${room}:0\n`);
    });

    it('400 invalid_cursor', async () => {
      const answer = await openStream({ path: '/api/observe/stream?rooms=Lobby:1' });
      expect(answer.status).to.equal(400);
      contract.check(operation, answer);
    });

    it('429 and 503 past the limits, which open streams count against', async () => {
      const session = await newSession();
      const stop = new AbortController();
      // Three streams of one session over two chatservers (one each): one is refused.
      const streams = [0, 1, 2].map((index) =>
        send('GET', { path: `/api/observe/stream?rooms=${uniqueRoom('s')}:0&n=${index}`, session, signal: stop.signal }).then(
          (answer) => answer,
          () => undefined,
        ),
      );
      try {
        const refused = await Promise.race(streams.map((stream) => stream.then((answer) => answer ?? new Promise<never>(() => undefined))));
        expect(refused.status, refused.text).to.equal(429);
        contract.check(operation, refused);
        // Anonymous streams fill the chatservers (3 each).
        const more = Array.from({ length: 8 }, (_, index) =>
          send('GET', { path: `/api/observe/stream?rooms=${uniqueRoom('f')}:0&n=${index}`, signal: stop.signal }).then(
            (answer) => answer,
            () => undefined,
          ),
        );
        streams.push(...more);
        const full = await Promise.race(more.map((stream) => stream.then((answer) => answer ?? new Promise<never>(() => undefined))));
        expect(full.status, full.text).to.equal(503);
        contract.check(operation, full);
      } finally {
        stop.abort();
        await Promise.allSettled(streams);
      }
    });
  });

  describe('methods a path does not list', () => {
    it('answer 405 with Allow listing the methods the document gives the path', async () => {
      const response = contract.componentResponse('MethodNotAllowed');
      for (const [template, item] of Object.entries(contract.document.paths)) {
        const path = template.replace('{room}', 'lobby').replace('{file}', 'app.js').replace('{id}', 'x').replace('{username}', 'someone');
        const documented = HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => method.toUpperCase());
        const answer = await send('PUT', { path });
        expect(answer.status, `PUT ${path}: ${answer.text}`).to.equal(405);
        contract.checkResponse(`PUT ${path} 405`, response, answer);
        const allowed = (answer.headers.get('allow') ?? '').split(',').map((method) => method.trim());
        expect(allowed, path).to.include.members(documented);
        expect(allowed.filter((method) => !documented.includes(method) && method !== 'HEAD'), path).to.deep.equal([]);
      }
    });

    it('OPTIONS: the web tier answers every /api/ path with a CORS preflight; the chatserver with 405', async () => {
      for (const [template, item] of Object.entries(contract.document.paths)) {
        if (!template.startsWith('/api/')) continue;
        const path = template.replace('{room}', 'lobby').replace('{id}', 'x').replace('{username}', 'someone');
        const answer = await send('OPTIONS', { path });
        const onChatserver = item['x-served-by'] === 'chatserver';
        expect(answer.status, `OPTIONS ${path}`).to.equal(onChatserver ? 405 : 204);
        contract.checkResponse(`OPTIONS ${path}`, contract.componentResponse(onChatserver ? 'MethodNotAllowed' : 'Preflight'), answer);
      }
    });
  });

  // A suite of its own: mocha runs a suite's own tests before its child suites.
  describe('coverage', () => {
    it('produced every status the document lists, of every operation', () => {
      expect(contract.unexercised().filter((key) => !(key in PRODUCED_ELSEWHERE))).to.deep.equal([]);
    });

    it('lists as produced elsewhere only answers the document has and this test did not produce', () => {
      const unexercised = new Set(contract.unexercised());
      expect(Object.keys(PRODUCED_ELSEWHERE).filter((key) => !unexercised.has(key))).to.deep.equal([]);
    });
  });
});
