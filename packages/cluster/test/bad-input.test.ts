import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { createSession, enterRoom, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

/** One bad request and what the cluster must answer, through nginx. */
interface BadInputCase {
  name: string;
  method: string;
  /** `{room}` becomes the victim room, `{elsewhere}` a room only someone else entered, `{other}` a room that does not exist. */
  path: string;
  /** Which credentials to send. @default 'bearer' */
  auth?: 'bearer' | 'none' | 'unknown' | 'cookie-without-csrf';
  contentType?: string;
  body?: string | Buffer;
  status: number;
  code: string;
}

const json = (value: unknown): string => JSON.stringify(value);
const JSON_TYPE = 'application/json';
const sayBody = (text: unknown, extra: Record<string, unknown> = {}): string => json({ text, ...extra });
const SAY = '/api/rooms/{room}/say';
const tooManyRooms = Array.from({ length: 51 }, (_, index) => `r${index}:0`).join(',');

/** Every body-taking write, for the malformed-body rows. */
const BODY_ENDPOINTS: Array<{ label: string; path: string; valid: string }> = [
  { label: 'POST /api/session', path: '/api/session', valid: json({ nickname: 'mallory' }) },
  { label: 'POST /api/nick', path: '/api/nick', valid: json({ nickname: 'mallory' }) },
  { label: 'POST say', path: SAY, valid: sayBody('hello') },
];

const CASES: BadInputCase[] = [
  ...BODY_ENDPOINTS.flatMap(({ label, path, valid }): BadInputCase[] => [
    { name: `${label} with malformed JSON`, method: 'POST', path, contentType: JSON_TYPE, body: '{"nickname":', status: 400, code: 'invalid_json' },
    { name: `${label} as text/plain`, method: 'POST', path, contentType: 'text/plain', body: valid, status: 415, code: 'unsupported_media_type' },
    { name: `${label} with a 17 KiB body (web tier limit)`, method: 'POST', path, contentType: JSON_TYPE, body: json({ pad: 'x'.repeat(17 * 1024) }), status: 413, code: 'payload_too_large' },
    { name: `${label} with a 100 KiB body (nginx limit)`, method: 'POST', path, contentType: JSON_TYPE, body: json({ pad: 'x'.repeat(100 * 1024) }), status: 413, code: 'payload_too_large' },
    { name: `${label} with invalid UTF-8`, method: 'POST', path, contentType: JSON_TYPE, body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400, code: 'invalid_json' },
    { name: `${label} with a JSON array`, method: 'POST', path, contentType: JSON_TYPE, body: '[]', status: 400, code: 'invalid_body' },
    { name: `${label} with JSON null`, method: 'POST', path, contentType: JSON_TYPE, body: 'null', status: 400, code: 'invalid_body' },
  ]),
  // Nicknames, on both endpoints that take one.
  ...['/api/session', '/api/nick'].flatMap((path): BadInputCase[] =>
    [
      ['an empty nickname', ''],
      ['a blank nickname', '   '],
      ['a 33-character nickname', 'n'.repeat(33)],
      ['a nickname with a newline', 'a\nb'],
      ['a nickname with a bidi override', 'evil\u202eexe.txt'],
      ['a numeric nickname', 42],
      ['no nickname', undefined],
    ].map(([what, nickname]) => ({
      name: `POST ${path} with ${what}`,
      method: 'POST',
      path,
      contentType: JSON_TYPE,
      body: json({ nickname }),
      status: 400,
      code: 'invalid_nickname',
    })),
  ),
  // Message text and clientId.
  { name: 'say with empty text', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody(''), status: 400, code: 'invalid_text' },
  { name: 'say with white space only', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody(' \n\t '), status: 400, code: 'invalid_text' },
  { name: 'say with 2001 characters', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('x'.repeat(2001)), status: 400, code: 'invalid_text' },
  { name: 'say with a NUL character', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('a\u0000b'), status: 400, code: 'invalid_text' },
  { name: 'say with an escape character', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('a\u001b[31mb'), status: 400, code: 'invalid_text' },
  { name: 'say with a bidi isolate', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('a\u2066b'), status: 400, code: 'invalid_text' },
  { name: 'say with a lone surrogate', method: 'POST', path: SAY, contentType: JSON_TYPE, body: '{"text":"a\\ud800b"}', status: 400, code: 'invalid_text' },
  { name: 'say with text as a number', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody(7), status: 400, code: 'invalid_text' },
  { name: 'say with text as an object', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody({ html: '<b>' }), status: 400, code: 'invalid_text' },
  { name: 'say with a clientId holding a space', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('hi', { clientId: 'a b' }), status: 400, code: 'invalid_client_id' },
  { name: 'say with a 65-character clientId', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('hi', { clientId: 'c'.repeat(65) }), status: 400, code: 'invalid_client_id' },
  { name: 'say with a numeric clientId', method: 'POST', path: SAY, contentType: JSON_TYPE, body: sayBody('hi', { clientId: 5 }), status: 400, code: 'invalid_client_id' },
  { name: 'say in a room only someone else entered', method: 'POST', path: '/api/rooms/{elsewhere}/say', contentType: JSON_TYPE, body: sayBody('hi'), status: 409, code: 'not_in_room' },
  { name: 'say in a room that does not exist', method: 'POST', path: '/api/rooms/{other}/say', contentType: JSON_TYPE, body: sayBody('hi'), status: 404, code: 'room_not_found' },
  // Room names in paths, on every room endpoint.
  ...['Upper', '-dash', 'r'.repeat(65), 'caf%C3%A9', 'a%20b', '..%2F..%2Fetc'].flatMap((room): BadInputCase[] => [
    { name: `GET /api/rooms/${room.slice(0, 20)}`, method: 'GET', path: `/api/rooms/${room}`, status: 400, code: 'invalid_room' },
    { name: `GET events of ${room.slice(0, 20)}`, method: 'GET', path: `/api/rooms/${room}/events`, status: 400, code: 'invalid_room' },
    { name: `POST enter ${room.slice(0, 20)}`, method: 'POST', path: `/api/rooms/${room}/enter`, status: 400, code: 'invalid_room' },
    { name: `POST leave ${room.slice(0, 20)}`, method: 'POST', path: `/api/rooms/${room}/leave`, status: 400, code: 'invalid_room' },
    { name: `POST say in ${room.slice(0, 20)}`, method: 'POST', path: `/api/rooms/${room}/say`, contentType: JSON_TYPE, body: sayBody('hi'), status: 400, code: 'invalid_room' },
  ]),
  { name: 'GET an unknown room', method: 'GET', path: '/api/rooms/{other}', status: 404, code: 'room_not_found' },
  { name: 'GET events of an unknown room', method: 'GET', path: '/api/rooms/{other}/events', status: 404, code: 'room_not_found' },
  { name: 'POST leave an unknown room', method: 'POST', path: '/api/rooms/{other}/leave', status: 404, code: 'room_not_found' },
  // History paging parameters.
  ...['after=-1', 'after=abc', 'after=1.5', 'before=0x10', 'limit=0', 'limit=201', 'limit=', 'after=1&before=5', 'after=1&after=2'].map(
    (query): BadInputCase => ({ name: `GET events?${query}`, method: 'GET', path: `/api/rooms/{room}/events?${query}`, status: 400, code: 'invalid_parameter' }),
  ),
  // Observe (answered by a chatserver through nginx).
  { name: 'observe without rooms', method: 'GET', path: '/api/observe?wait=1', status: 400, code: 'invalid_cursor' },
  ...['lobby:-1', 'lobby:1:2', 'Lobby:1', 'lobby:1,lobby:2', 'lobby:01', ',', tooManyRooms, '{room}:99999999'].map(
    (cursor): BadInputCase => ({ name: `observe rooms=${cursor.slice(0, 24)}`, method: 'GET', path: `/api/observe?wait=1&rooms=${encodeURIComponent(cursor)}`, status: 400, code: 'invalid_cursor' }),
  ),
  ...['-1', '56', 'soon', '2.5'].map(
    (wait): BadInputCase => ({ name: `observe wait=${wait}`, method: 'GET', path: `/api/observe?rooms={room}&wait=${wait}`, status: 400, code: 'invalid_parameter' }),
  ),
  ...['alert(1)//', 'a-b', 'x'.repeat(129), 'constructor[0]', '1abc', 'a..b', 'import', 'do'].map(
    (callback): BadInputCase => ({ name: `observe callback=${callback.slice(0, 20)}`, method: 'GET', path: `/api/observe?rooms={room}&wait=1&callback=${encodeURIComponent(callback)}`, status: 400, code: 'invalid_callback' }),
  ),
  { name: 'GET /api/rooms with a hostile callback', method: 'GET', path: `/api/rooms?callback=${encodeURIComponent('alert(1)//')}`, status: 400, code: 'invalid_callback' },
  // Sessions and CSRF on every write.
  ...[
    ['GET', '/api/session', undefined],
    ['DELETE', '/api/session', undefined],
    ['POST', '/api/nick', json({ nickname: 'mallory' })],
    ['POST', '/api/rooms/{room}/enter', undefined],
    ['POST', '/api/rooms/{room}/leave', undefined],
    ['POST', SAY, sayBody('hi')],
  ].flatMap(([method, path, body]): BadInputCase[] => {
    const base = { method: method!, path: path!, ...(body === undefined ? {} : { contentType: JSON_TYPE, body }) };
    const rows: BadInputCase[] = [
      { ...base, name: `${method} ${path} without a session`, auth: 'none', status: 401, code: 'unauthorized' },
      { ...base, name: `${method} ${path} with an unknown session`, auth: 'unknown', status: 401, code: 'unauthorized' },
    ];
    if (method !== 'GET') {
      rows.push({ ...base, name: `${method} ${path} by cookie without X-Requested-With`, auth: 'cookie-without-csrf', status: 403, code: 'csrf_required' });
    }
    return rows;
  }),
  // Methods and paths that do not exist.
  { name: 'PUT /api/session', method: 'PUT', path: '/api/session', contentType: JSON_TYPE, body: json({ nickname: 'x' }), status: 405, code: 'method_not_allowed' },
  { name: 'DELETE a room', method: 'DELETE', path: '/api/rooms/{room}', status: 405, code: 'method_not_allowed' },
  { name: 'POST to observe', method: 'POST', path: '/api/observe?rooms={room}', contentType: JSON_TYPE, body: '{}', status: 405, code: 'method_not_allowed' },
  { name: 'an unknown API path', method: 'GET', path: '/api/nothing-here', status: 404, code: 'not_found' },
  { name: 'a dot-dot path into internal', method: 'GET', path: '/api/../internal/rooms/{room}/events', status: 404, code: 'not_found' },
  { name: 'an encoded internal path', method: 'POST', path: '/%69nternal/notify', contentType: JSON_TYPE, body: '{"events":[]}', status: 404, code: 'not_found' },
];

/** What a bad request must leave as it was: the room list, both rooms, the victim session. */
interface Snapshot {
  rooms: unknown;
  room: unknown;
  elsewhere: unknown;
  session: unknown;
}

describe('cluster: every bad input gets its documented error and changes nothing', function () {
  this.timeout(30_000);
  const fixture = useCluster();
  let victimSession = '';
  let victimCookie = '';
  let room = '';
  let elsewhere = '';
  let unchanged: Snapshot;

  async function snapshot(): Promise<Snapshot> {
    const base = fixture.cluster.publicUrl;
    const read = async (path: string): Promise<unknown> => JSON.parse((await request(`${base}${path}`, { session: victimSession })).text);
    return {
      rooms: await read('/api/rooms'),
      room: await read(`/api/rooms/${room}`),
      elsewhere: await read(`/api/rooms/${elsewhere}`),
      session: await read('/api/session'),
    };
  }

  before(async () => {
    const base = fixture.cluster.publicUrl;
    room = uniqueRoom('victim');
    victimSession = await createSession(base, 'victim');
    await enterRoom(base, victimSession, room);
    await say(base, victimSession, room, 'the only message');
    // A real cookie session, for the CSRF rows.
    const created = await request(`${base}/api/session`, { method: 'POST', body: { nickname: 'cookie' } });
    victimCookie = (created.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(victimCookie).to.match(/^parley_session=[\w-]{43}$/);
    const cookieSession = victimCookie.slice('parley_session='.length);
    await enterRoom(base, cookieSession, room);
    elsewhere = uniqueRoom('elsewhere');
    await enterRoom(base, cookieSession, elsewhere);
    unchanged = await snapshot();
  });

  for (const testCase of CASES) {
    it(`${testCase.name} → ${testCase.status} ${testCase.code}`, async () => {
      const headers: Record<string, string> = {};
      if (testCase.contentType !== undefined) headers['content-type'] = testCase.contentType;
      const auth = testCase.auth ?? 'bearer';
      if (auth === 'bearer') headers.authorization = `Bearer ${victimSession}`;
      if (auth === 'unknown') headers.authorization = `Bearer ${randomBytes(32).toString('base64url')}`;
      if (auth === 'cookie-without-csrf') headers.cookie = victimCookie;
      const path = testCase.path.replaceAll('{room}', room).replaceAll('{elsewhere}', elsewhere).replaceAll('{other}', uniqueRoom('never'));
      const response = await fetch(`${fixture.cluster.publicUrl}${path}`, {
        method: testCase.method,
        headers,
        ...(testCase.body === undefined ? {} : { body: testCase.body }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      expect(response.status, text).to.equal(testCase.status);
      expect(response.headers.get('content-type'), text).to.match(/^application\/json/);
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      expect(Object.keys(body)).to.deep.equal(['error']);
      expect(body.error?.code).to.equal(testCase.code);
      expect(body.error?.message).to.be.a('string').and.not.equal('');
      expect(await snapshot()).to.deep.equal(unchanged);
    });
  }
});
