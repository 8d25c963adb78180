import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ERROR_STATUS, type ErrorCode } from '@parley/protocol';
import { createCookieSession, createSession, enterRoom, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

/**
 * One bad request and what the cluster must answer, through nginx.
 *
 * In `path`, `:room` is the victim's room (it holds one message), `:elsewhere`
 * a room only the bystander entered, `:unknown` a fresh name no one ever used.
 * In header values, `{session}` is the victim's bearer token, `{cookie}` the
 * victim's `parley_session=…` cookie pair, `{unknownSession}` a random token.
 * No header is sent that the case does not list.
 */
interface BadInputCase {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  rawBody?: string | Buffer;
  expectStatus: number;
  expectCode: ErrorCode;
  /** Only where the message tells which tier answered (the two body limits). */
  expectMessage?: string;
}

/** The error statuses DESIGN.md documents, plus 405 of a wrong method (ERROR_STATUS's method_not_allowed). */
const DOCUMENTED_STATUSES = [400, 401, 403, 404, 405, 409, 413, 415, 429];

const json = (value: unknown): string => JSON.stringify(value);
const JSON_TYPE = { 'content-type': 'application/json' } as const;
const BEARER = { authorization: 'Bearer {session}' } as const;
const asVictim = (extra: Record<string, string> = {}): Record<string, string> => ({ ...BEARER, ...extra });
/** A value as a test name shows it: invisible characters escaped, long values shortened to `xxxxxxxx…(129)`. */
const show = (value: string): string => {
  const visible = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return visible.length > 24 ? `${visible.slice(0, 8)}…(${value.length})` : visible;
};

/** Bytes that are not UTF-8 inside otherwise valid JSON: `{"a":"\xff\xfe"}`. */
const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
/** An overlong encoding of "/" (0xc0 0xaf), which a lax decoder would accept. */
const OVERLONG_UTF8 = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);

/** The 413 messages of the web tier (16 KiB, `MAX_BODY_BYTES`) and of nginx itself (`client_max_body_size 64k`). */
const WEB_TOO_LARGE = 'request body must be at most 16384 bytes';
const NGINX_TOO_LARGE = 'request body too large';

/** Every endpoint that reads a JSON body, with a valid body and the field that carries its payload. */
const BODY_ENDPOINTS: Array<{ path: string; headers: Record<string, string>; valid: string; field: string; emptyAllowed: boolean }> = [
  { path: '/api/session', headers: {}, valid: json({ nickname: 'mallory' }), field: 'nickname', emptyAllowed: false },
  { path: '/api/nick', headers: BEARER, valid: json({ nickname: 'mallory' }), field: 'nickname', emptyAllowed: false },
  // A wrongful enter of a fresh room would create it, which the room list shows.
  { path: '/api/rooms/:unknown/enter', headers: BEARER, valid: '{}', field: 'pad', emptyAllowed: true },
  // A wrongful leave of the victim's room would change its occupants and seq.
  { path: '/api/rooms/:room/leave', headers: BEARER, valid: '{}', field: 'pad', emptyAllowed: true },
  { path: '/api/rooms/:room/say', headers: BEARER, valid: json({ text: 'hello' }), field: 'text', emptyAllowed: false },
];

const bodyCases: BadInputCase[] = BODY_ENDPOINTS.flatMap(({ path, headers, valid, field, emptyAllowed }): BadInputCase[] => {
  const post = (
    name: string,
    extraHeaders: Record<string, string>,
    rawBody: string | Buffer,
    expectStatus: number,
    expectCode: ErrorCode,
    expectMessage?: string,
  ): BadInputCase => ({
    name: `POST ${path} ${name}`,
    method: 'POST',
    path,
    headers: { ...headers, ...extraHeaders },
    rawBody,
    expectStatus,
    expectCode,
    ...(expectMessage === undefined ? {} : { expectMessage }),
  });
  const rows = [
    post('with malformed JSON', JSON_TYPE, `{"${field}":`, 400, 'invalid_json'),
    post('with a trailing comma', JSON_TYPE, `{"${field}":"x",}`, 400, 'invalid_json'),
    post('as text/plain', { 'content-type': 'text/plain' }, valid, 415, 'unsupported_media_type'),
    post('as a urlencoded form', { 'content-type': 'application/x-www-form-urlencoded' }, `${field}=x`, 415, 'unsupported_media_type'),
    post('as JSON in latin1', { 'content-type': 'application/json; charset=latin1' }, valid, 415, 'unsupported_media_type'),
    post('with a 17 KiB body (web tier limit)', JSON_TYPE, json({ [field]: 'x'.repeat(17 * 1024) }), 413, 'payload_too_large', WEB_TOO_LARGE),
    post('with a 100 KiB body (nginx limit)', JSON_TYPE, json({ [field]: 'x'.repeat(100 * 1024) }), 413, 'payload_too_large', NGINX_TOO_LARGE),
    post('with invalid UTF-8 bytes', JSON_TYPE, INVALID_UTF8, 400, 'invalid_json'),
    post('with overlong UTF-8 bytes', JSON_TYPE, OVERLONG_UTF8, 400, 'invalid_json'),
    post('with a JSON array', JSON_TYPE, `[${valid}]`, 400, 'invalid_body'),
    post('with JSON null', JSON_TYPE, 'null', 400, 'invalid_body'),
    post('with a JSON string', JSON_TYPE, '"hello"', 400, 'invalid_body'),
    post('with a JSON number', JSON_TYPE, '42', 400, 'invalid_body'),
  ];
  if (!emptyAllowed) rows.push(post('with an empty JSON body', JSON_TYPE, '', 400, 'invalid_json'));
  return rows;
});

const nicknameCases: BadInputCase[] = [
  { path: '/api/session', headers: JSON_TYPE },
  { path: '/api/nick', headers: asVictim(JSON_TYPE) },
].flatMap(({ path, headers }) =>
  (
    [
      ['an empty nickname', ''],
      ['a blank nickname', ' \t '],
      ['a 33-character nickname', 'n'.repeat(33)],
      ['a 33-emoji nickname', '😀'.repeat(33)],
      ['a nickname with a newline', 'a\nb'],
      ['a nickname with NUL', 'a\u0000b'],
      ['a nickname with DEL', 'a\u007fb'],
      ['a nickname with a C1 control', 'a\u0085b'],
      ['a nickname with a bidi override (U+202E)', 'evil\u202etxt.exe'],
      ['a nickname with a bidi isolate (U+2066)', 'a\u2066b'],
      ['a nickname with a line separator (U+2028)', 'a\u2028b'],
      // Inside the name: at either end a BOM is white space to trim() and goes away.
      ['a nickname with a BOM inside', 'ad\ufeffmin'],
      ['a numeric nickname', 42],
      ['a null nickname', null],
      ['a boolean nickname', true],
      ['an array nickname', ['alice']],
      ['an object nickname', { toString: 'alice' }],
      ['no nickname', undefined],
    ] as Array<[string, unknown]>
  )
    .map(([what, nickname]): BadInputCase => ({
      name: `POST ${path} with ${what}`,
      method: 'POST',
      path,
      headers,
      rawBody: json({ nickname }),
      expectStatus: 400,
      expectCode: 'invalid_nickname',
    }))
    .concat({
      name: `POST ${path} with a lone surrogate in the nickname`,
      method: 'POST',
      path,
      headers,
      rawBody: '{"nickname":"a\\ud800b"}',
      expectStatus: 400,
      expectCode: 'invalid_nickname',
    }),
);

const SAY_PATH = '/api/rooms/:room/say';
const sayCase = (name: string, rawBody: string, expectStatus: number, expectCode: ErrorCode, path = SAY_PATH): BadInputCase => ({
  name: `POST ${path} ${name}`,
  method: 'POST',
  path,
  headers: asVictim(JSON_TYPE),
  rawBody,
  expectStatus,
  expectCode,
});

const textCases: BadInputCase[] = [
  ...(
    [
      ['empty text', ''],
      ['white-space-only text', ' \n\t '],
      ['2001-character text', 'x'.repeat(2001)],
      ['2001-emoji text', '😀'.repeat(2001)],
      ['text with NUL', 'a\u0000b'],
      ['text with an escape sequence', 'a\u001b[31mb'],
      ['text with DEL', 'a\u007fb'],
      ['text with a bidi override (U+202E)', 'a\u202eb'],
      ['text with a bidi isolate (U+2066)', 'a\u2066b'],
      ['text with a paragraph separator (U+2029)', 'a\u2029b'],
      ['text with a BOM', '\ufeffhi'],
      ['numeric text', 7],
      ['null text', null],
      ['boolean text', false],
      ['array text', ['hi']],
      ['object text', { html: '<b>hi</b>' }],
      ['no text', undefined],
    ] as Array<[string, unknown]>
  ).map(([what, text]) => sayCase(`with ${what}`, json({ text }), 400, 'invalid_text')),
  sayCase('with a lone surrogate in the text', '{"text":"a\\udc00b"}', 400, 'invalid_text'),
];

const clientIdCases: BadInputCase[] = [
  ...(
    [
      ['an empty clientId', ''],
      ['a clientId with a space', 'a b'],
      ['a 65-character clientId', 'c'.repeat(65)],
      ['a non-ASCII clientId', 'café'],
      ['a clientId with a slash', '../x'],
      ['a numeric clientId', 5],
      ['a boolean clientId', true],
      ['an object clientId', { id: 'x' }],
    ] as Array<[string, unknown]>
  ).map(([what, clientId]) => sayCase(`with ${what}`, json({ text: 'hi', clientId }), 400, 'invalid_client_id')),
  sayCase('reusing the first message clientId for other text', json({ text: 'not the first message', clientId: 'victim-first' }), 409, 'client_id_conflict'),
  sayCase('in a room only someone else entered', json({ text: 'hi' }), 409, 'not_in_room', '/api/rooms/:elsewhere/say'),
  sayCase('in a room that does not exist', json({ text: 'hi' }), 404, 'room_not_found', '/api/rooms/:unknown/say'),
];

/** Room names that break `[a-z0-9][a-z0-9_-]{0,63}`, as they appear (percent-encoded) in a path. */
const BAD_ROOMS = ['Upper', '-x', '_x', 'r'.repeat(65), 'a%2Fb', '..%2F..', '..%2F..%2Fetc', 'a.b', 'a%20b', 'caf%C3%A9', '%C0%AF', '%FF'];

const roomNameCases: BadInputCase[] = BAD_ROOMS.flatMap((room): BadInputCase[] => {
  const row = (method: string, suffix: string, headers: Record<string, string>, rawBody?: string): BadInputCase => ({
    name: `${method} /api/rooms/${show(room)}${suffix} with a bad room name`,
    method,
    path: `/api/rooms/${room}${suffix}`,
    headers,
    ...(rawBody === undefined ? {} : { rawBody }),
    expectStatus: 400,
    expectCode: 'invalid_room',
  });
  return [
    row('GET', '', {}),
    row('GET', '/events', {}),
    row('POST', '/enter', BEARER),
    row('POST', '/leave', BEARER),
    row('POST', '/say', asVictim(JSON_TYPE), json({ text: 'hi' })),
  ];
});

/**
 * Room paths that nginx refuses itself, before any upstream sees them (a NUL
 * byte, a path that climbs above the root, a broken percent escape). The
 * answer must still be the API's JSON error shape.
 */
const nginxRefusedPathCases: BadInputCase[] = [
  { name: 'GET /api/rooms/a%00b (NUL in the path, refused by nginx)', method: 'GET', path: '/api/rooms/a%00b', expectStatus: 400, expectCode: 'invalid_request' },
  { name: 'GET /api/rooms/..%2F..%2F..%2F.. (climbs above the root, refused by nginx)', method: 'GET', path: '/api/rooms/..%2F..%2F..%2F..', expectStatus: 400, expectCode: 'invalid_request' },
  { name: 'POST /api/rooms/%ZZ/enter (broken percent escape, refused by nginx)', method: 'POST', path: '/api/rooms/%ZZ/enter', headers: BEARER, expectStatus: 400, expectCode: 'invalid_request' },
];

const unknownRoomCases: BadInputCase[] = [
  { name: 'GET /api/rooms/:unknown (never created)', method: 'GET', path: '/api/rooms/:unknown', expectStatus: 404, expectCode: 'room_not_found' },
  { name: 'GET /api/rooms/:unknown/events (never created)', method: 'GET', path: '/api/rooms/:unknown/events', expectStatus: 404, expectCode: 'room_not_found' },
  { name: 'POST /api/rooms/:unknown/leave (never created)', method: 'POST', path: '/api/rooms/:unknown/leave', headers: BEARER, expectStatus: 404, expectCode: 'room_not_found' },
];

const historyCases: BadInputCase[] = [
  'after=-1',
  'after=abc',
  'after=1.5',
  'after=',
  'after=1e3',
  'after=%2B1',
  'after=9999999999999999',
  'before=-1',
  'before=0x10',
  'limit=0',
  'limit=201',
  'limit=',
  'limit=ten',
  'after=1&before=5',
  'after=1&after=2',
  'limit=5&limit=6',
].map((query): BadInputCase => ({
  name: `GET /api/rooms/:room/events?${query}`,
  method: 'GET',
  path: `/api/rooms/:room/events?${query}`,
  expectStatus: 400,
  expectCode: 'invalid_parameter',
}));

const TOO_MANY_ROOMS = Array.from({ length: 51 }, (_, index) => `r${index}:0`).join(',');
const observeCases: BadInputCase[] = [
  { name: 'GET /api/observe without rooms', method: 'GET', path: '/api/observe?wait=1', expectStatus: 400, expectCode: 'invalid_cursor' },
  ...(
    [
      ['an empty cursor', ''],
      ['a lone comma', ','],
      ['a negative seq', 'lobby:-1'],
      ['two seqs', 'lobby:1:2'],
      ['an upper-case room', 'Lobby'],
      ['an upper-case room with a seq', 'Lobby:1'],
      ['an empty seq', 'lobby:'],
      ['no room before the seq', ':5'],
      ['a zero-padded seq', 'lobby:01'],
      ['an exponent seq', 'lobby:1e3'],
      ['a signed seq', 'lobby:+1'],
      ['a 16-digit seq', 'lobby:1234567890123456'],
      ['a 65-character room', `${'r'.repeat(65)}:0`],
      ['a room with a slash', 'a/b:0'],
      ['a room with NUL', 'a\u0000b:0'],
      ['a room with a broken percent escape', '%ZZ:0'],
      ['51 rooms', TOO_MANY_ROOMS],
      ['a duplicate room', 'lobby:1,lobby:2'],
      ['a duplicate bare room', 'lobby,lobby'],
      ['a seq ahead of an unknown room', 'lobby:99999999'],
    ] as Array<[string, string]>
  ).map(([what, cursor]): BadInputCase => ({
    name: `GET /api/observe with ${what} (rooms=${show(cursor)})`,
    method: 'GET',
    path: `/api/observe?wait=1&rooms=${encodeURIComponent(cursor)}`,
    expectStatus: 400,
    expectCode: 'invalid_cursor',
  })),
  {
    name: 'GET /api/observe with a seq ahead of the head (rooms=:room:99999999)',
    method: 'GET',
    path: '/api/observe?wait=1&rooms=:room:99999999',
    expectStatus: 400,
    expectCode: 'invalid_cursor',
  },
  ...['-1', '56', '3600', 'soon', '2.5', '1e1', ''].map((wait): BadInputCase => ({
    name: `GET /api/observe with wait=${wait}`,
    method: 'GET',
    path: `/api/observe?rooms=:room&wait=${wait}`,
    expectStatus: 400,
    expectCode: 'invalid_parameter',
  })),
  ...['alert(1)//', 'a-b', 'x'.repeat(129), 'constructor[0]', '1abc', 'a..b', 'a.', '', 'import', 'do', 'cb\u2028x', '<script>'].map(
    (callback): BadInputCase => ({
      name: `GET /api/observe with callback="${show(callback)}"`,
      method: 'GET',
      path: `/api/observe?rooms=:room&wait=1&callback=${encodeURIComponent(callback)}`,
      expectStatus: 400,
      expectCode: 'invalid_callback',
    }),
  ),
  {
    name: 'GET /api/observe with a hostile callback and a hostile cursor',
    method: 'GET',
    path: `/api/observe?rooms=${encodeURIComponent('lobby:-1')}&callback=${encodeURIComponent('alert(1)//')}`,
    expectStatus: 400,
    expectCode: 'invalid_callback',
  },
];

/** The web tier's read-only GETs refuse a hostile JSONP callback as plain JSON too. */
const webCallbackCases: BadInputCase[] = ['/api/session', '/api/rooms', '/api/rooms/:room', '/api/rooms/:room/events'].flatMap((path) =>
  ['alert(1)//', 'x'.repeat(129)].map((callback): BadInputCase => ({
    name: `GET ${path} with callback=${show(callback)}`,
    method: 'GET',
    path: `${path}?callback=${encodeURIComponent(callback)}`,
    headers: BEARER,
    expectStatus: 400,
    expectCode: 'invalid_callback',
  })),
);

/** Every endpoint that needs a session; writes also need the CSRF header with a cookie. */
const SESSION_ENDPOINTS: Array<{ method: string; path: string; body?: string }> = [
  { method: 'GET', path: '/api/session' },
  { method: 'DELETE', path: '/api/session' },
  { method: 'POST', path: '/api/nick', body: json({ nickname: 'mallory' }) },
  // A fresh room: a wrongful enter would create it.
  { method: 'POST', path: '/api/rooms/:unknown/enter' },
  { method: 'POST', path: '/api/rooms/:room/leave' },
  { method: 'POST', path: SAY_PATH, body: json({ text: 'forged' }) },
];

const sessionCases: BadInputCase[] = SESSION_ENDPOINTS.flatMap(({ method, path, body }): BadInputCase[] => {
  const row = (name: string, headers: Record<string, string>, expectStatus: number, expectCode: ErrorCode, query = ''): BadInputCase => ({
    name: `${method} ${path} ${name}`,
    method,
    path: `${path}${query}`,
    headers: body === undefined ? headers : { ...JSON_TYPE, ...headers },
    ...(body === undefined ? {} : { rawBody: body }),
    expectStatus,
    expectCode,
  });
  const rows = [
    row('without a session', {}, 401, 'unauthorized'),
    row('with an unknown bearer session', { authorization: 'Bearer {unknownSession}' }, 401, 'unauthorized'),
    row('with a Basic authorization', { authorization: 'Basic dmljdGltOnNlY3JldA==' }, 401, 'unauthorized'),
    row('with an empty Bearer', { authorization: 'Bearer ' }, 401, 'unauthorized'),
    row('with an unknown session cookie', { cookie: 'parley_session={unknownSession}', 'x-requested-with': 'XMLHttpRequest' }, 401, 'unauthorized'),
  ];
  if (method !== 'GET') {
    rows.push(
      // A token in a URL is refused as such (nginx answers it before any web process).
      row('with the session only in ?session=', {}, 400, 'session_in_url', '?session={session}'),
      row('by cookie without X-Requested-With', { cookie: '{cookie}' }, 403, 'csrf_required'),
      row('by cookie with X-Requested-With: fetch', { cookie: '{cookie}', 'x-requested-with': 'fetch' }, 403, 'csrf_required'),
    );
  }
  return rows;
});

const methodCases: BadInputCase[] = (
  [
    ['PUT', '/api/session'],
    ['PATCH', '/api/session'],
    ['GET', '/api/nick'],
    ['DELETE', '/api/nick'],
    ['PUT', '/api/rooms'],
    ['DELETE', '/api/rooms'],
    ['PUT', '/api/rooms/:room'],
    ['DELETE', '/api/rooms/:room'],
    ['GET', '/api/rooms/:room/enter'],
    ['GET', '/api/rooms/:room/leave'],
    ['GET', '/api/rooms/:room/say'],
    ['PUT', '/api/rooms/:room/say'],
    ['POST', '/api/rooms/:room/events'],
    ['POST', '/api/observe?rooms=:room'],
    ['PUT', '/api/observe?rooms=:room'],
    ['DELETE', '/api/observe?rooms=:room'],
  ] as Array<[string, string]>
).map(([method, path]): BadInputCase => ({
  name: `${method} ${path} (wrong method)`,
  method,
  path,
  headers: asVictim(method === 'GET' || method === 'DELETE' ? {} : JSON_TYPE),
  ...(method === 'GET' || method === 'DELETE' ? {} : { rawBody: json({ text: 'hi', nickname: 'mallory' }) }),
  expectStatus: 405,
  expectCode: 'method_not_allowed',
}));

const pathCases: BadInputCase[] = [
  ...['/api/nothing-here', '/api/rooms/:room/unknown', '/api/rooms/:room/say/again', '/api/session/extra', '/api/observe/extra', '/api/rooms//enter'].map(
    (path): BadInputCase => ({ name: `POST ${path} (no such endpoint)`, method: 'POST', path, headers: BEARER, expectStatus: 404, expectCode: 'not_found' }),
  ),
  { name: 'GET /api/../internal/rooms/:room/events (dot-dot into internal)', method: 'GET', path: '/api/../internal/rooms/:room/events?after=0', expectStatus: 404, expectCode: 'not_found' },
  { name: 'POST /%69nternal/notify (encoded internal path)', method: 'POST', path: '/%69nternal/notify', headers: JSON_TYPE, rawBody: '{"events":[]}', expectStatus: 404, expectCode: 'not_found' },
  { name: 'POST /internal/notify (internal endpoint via nginx)', method: 'POST', path: '/internal/notify', headers: JSON_TYPE, rawBody: '{"events":[]}', expectStatus: 404, expectCode: 'not_found' },
];

const CASES: BadInputCase[] = [
  ...bodyCases,
  ...nicknameCases,
  ...textCases,
  ...clientIdCases,
  ...roomNameCases,
  ...nginxRefusedPathCases,
  ...unknownRoomCases,
  ...historyCases,
  ...observeCases,
  ...webCallbackCases,
  ...sessionCases,
  ...methodCases,
  ...pathCases,
];

/** What no bad request may change: the room list, both rooms and their history, both sessions. */
interface Snapshot {
  rooms: unknown;
  room: unknown;
  roomEvents: unknown;
  elsewhere: unknown;
  victim: unknown;
  bystander: unknown;
}

describe('cluster: every bad input gets its documented error and changes nothing', function () {
  this.timeout(20_000);
  const fixture = useCluster();
  let victim = { session: '', cookie: '' };
  let bystander = '';
  let room = '';
  let elsewhere = '';
  let unchanged: Snapshot;

  async function read(path: string, session?: string): Promise<unknown> {
    const answer = await request(`${fixture.cluster.publicUrl}${path}`, session === undefined ? {} : { session });
    return { status: answer.status, body: JSON.parse(answer.text) as unknown };
  }

  async function snapshot(): Promise<Snapshot> {
    const [rooms, roomDetail, roomEvents, elsewhereDetail, victimSession, bystanderSession] = await Promise.all([
      read('/api/rooms'),
      read(`/api/rooms/${room}`),
      read(`/api/rooms/${room}/events?after=0`),
      read(`/api/rooms/${elsewhere}`),
      read('/api/session', victim.session),
      read('/api/session', bystander),
    ]);
    return { rooms, room: roomDetail, roomEvents, elsewhere: elsewhereDetail, victim: victimSession, bystander: bystanderSession };
  }

  before(async () => {
    const base = fixture.cluster.publicUrl;
    room = uniqueRoom('victim');
    elsewhere = uniqueRoom('elsewhere');
    victim = await createCookieSession(base, 'victim');
    await enterRoom(base, victim.session, room);
    await say(base, victim.session, room, 'the only message', 'victim-first');
    bystander = await createSession(base, 'bystander');
    await enterRoom(base, bystander, elsewhere);
    unchanged = await snapshot();
    // The baseline itself must be what the setup made, or "unchanged" means nothing.
    expect(unchanged.room).to.have.nested.property('body.seq', 2);
    expect(unchanged.room).to.have.deep.nested.property('body.occupants', [{ nickname: 'victim' }]);
    expect(unchanged.victim).to.deep.equal({ status: 200, body: { nickname: 'victim', username: null, rooms: [room] } });
  });

  const names = new Set<string>();
  for (const testCase of CASES) {
    const title = `${testCase.name} → ${testCase.expectStatus} ${testCase.expectCode}`;
    if (names.has(title)) throw new Error(`two bad-input cases are named ${title}`);
    names.add(title);

    it(title, async () => {
      expect(ERROR_STATUS[testCase.expectCode], 'the table row agrees with ERROR_STATUS').to.equal(testCase.expectStatus);
      expect(DOCUMENTED_STATUSES).to.include(testCase.expectStatus);
      const unknownSession = randomBytes(32).toString('base64url');
      const path = testCase.path.replace(/:(room|elsewhere|unknown)\b/g, (_, which: string) =>
        which === 'room' ? room : which === 'elsewhere' ? elsewhere : uniqueRoom('never'),
      );
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(testCase.headers ?? {})) {
        headers[name] = value.replaceAll('{session}', victim.session).replaceAll('{cookie}', victim.cookie).replaceAll('{unknownSession}', unknownSession);
      }
      const response = await fetch(`${fixture.cluster.publicUrl}${path.replaceAll('{session}', victim.session)}`, {
        method: testCase.method,
        headers,
        ...(testCase.rawBody === undefined ? {} : { body: testCase.rawBody }),
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      // Read the state back before judging the answer, and judge the next
      // cases against what is there now, so one change is reported once, here.
      const before = unchanged;
      const after = await snapshot();
      unchanged = after;

      expect(response.status, text).to.equal(testCase.expectStatus);
      expect(response.headers.get('content-type'), text).to.match(/^application\/json\b/);
      let body: unknown;
      expect(() => (body = JSON.parse(text)), text).to.not.throw();
      expect(body).to.be.an('object').with.all.keys('error');
      const error = (body as { error: unknown }).error;
      expect(error, text).to.be.an('object').with.all.keys('code', 'message');
      expect(error).to.have.property('code', testCase.expectCode);
      expect((error as { message: unknown }).message, text).to.be.a('string').and.not.equal('');
      if (testCase.expectMessage !== undefined) expect(error).to.have.property('message', testCase.expectMessage);

      expect(after, 'a bad request changed state').to.deep.equal(before);
    });
  }
});
