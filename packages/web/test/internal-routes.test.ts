import { expect } from 'chai';
import { MAX_ROOM_HEADS, ROOM_HEADS_PATH } from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import { HARNESS_STORES, call, newSession, startHarness, TEST_SECRET, uniqueRoom, type Harness, type HarnessStore } from './harness.js';

/** A harness with one new room that alice entered and said `texts` in, in order (seqs 2, 3, …). */
async function startWithRoom(texts: readonly string[], store: HarnessStore = 'sqlite'): Promise<{ harness: Harness; room: string }> {
  const harness = await startHarness({ seams: 'memory', store });
  const session = await newSession(harness, 'alice');
  const room = uniqueRoom();
  await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
  for (const text of texts) await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text } });
  return { harness, room };
}

describe('internal gap-repair route', () => {
  let harness: Harness;
  let room: string;

  before(async () => {
    ({ harness, room } = await startWithRoom(['one', 'two', 'three', 'four']));
  });

  after(async () => {
    await harness?.close();
  });

  function signedGet(path: string, secret = TEST_SECRET, now = Date.now()) {
    return call(harness, 'GET', path, { headers: signRequest(secret, { method: 'GET', path, body: '' }, now) });
  }

  it('answers a signed request with the events after the cursor and the head', async () => {
    const answer = await signedGet(`/internal/rooms/${room}/events?after=2&limit=2`);
    expect(answer.status).to.equal(200);
    expect(answer.json.seq).to.equal(5);
    expect(answer.json.events.map((event: { seq: number }) => event.seq)).to.deep.equal([3, 4]);
  });

  it('answers only the head when after is omitted', async () => {
    const answer = await signedGet(`/internal/rooms/${room}/events`);
    expect(answer.json).to.deep.equal({ events: [], seq: 5 });
  });

  it('answers head 0 and no events for a room that does not exist', async () => {
    const answer = await signedGet(`/internal/rooms/${uniqueRoom()}/events?after=0`);
    expect(answer.status).to.equal(200);
    expect(answer.json).to.deep.equal({ events: [], seq: 0 });
  });

  it('refuses an unsigned request with 401 signature_required', async () => {
    const answer = await call(harness, 'GET', `/internal/rooms/${room}/events?after=0`);
    expect(answer.status).to.equal(401);
    expect(answer.json.error.code).to.equal('signature_required');
  });

  it('refuses a request signed with another secret with 403 bad_signature', async () => {
    const answer = await signedGet(`/internal/rooms/${room}/events?after=0`, 'another-secret-that-is-32-characters-long');
    expect(answer.status).to.equal(403);
    expect(answer.json.error.code).to.equal('bad_signature');
  });

  it('refuses a replayed request with 403 replayed_request', async () => {
    const path = `/internal/rooms/${room}/events?after=0`;
    const headers = signRequest(TEST_SECRET, { method: 'GET', path, body: '' });
    expect((await call(harness, 'GET', path, { headers })).status).to.equal(200);
    const replayed = await call(harness, 'GET', path, { headers });
    expect(replayed.status).to.equal(403);
    expect(replayed.json.error.code).to.equal('replayed_request');
  });

  it('refuses a stale signature with 403 bad_signature', async () => {
    const answer = await signedGet(`/internal/rooms/${room}/events?after=0`, TEST_SECRET, Date.now() - 120_000);
    expect(answer.status).to.equal(403);
    expect(answer.json.error.code).to.equal('bad_signature');
  });

  it('refuses a signature made for another query string with 403 bad_signature', async () => {
    const headers = signRequest(TEST_SECRET, { method: 'GET', path: `/internal/rooms/${room}/events?after=4`, body: '' });
    const answer = await call(harness, 'GET', `/internal/rooms/${room}/events?after=0`, { headers });
    expect(answer.status).to.equal(403);
    expect(answer.json.error.code).to.equal('bad_signature');
  });

  it('refuses a limit above 1000 with 400 invalid_parameter', async () => {
    const answer = await signedGet(`/internal/rooms/${room}/events?after=0&limit=1001`);
    expect(answer.status).to.equal(400);
    expect(answer.json.error.code).to.equal('invalid_parameter');
  });

  it('refuses an invalid room name with 400 invalid_room', async () => {
    const answer = await signedGet('/internal/rooms/NOPE/events?after=0');
    expect(answer.status).to.equal(400);
    expect(answer.json.error.code).to.equal('invalid_room');
  });
});

// The heads are one store read of many rooms (roomHeads): proven on both stores.
for (const storeKind of HARNESS_STORES) {
  describe(`internal room-heads route on ${storeKind}`, () => {
    let harness: Harness;
    let room: string;

    before(async function () {
      // A private PostgreSQL's first start takes a few seconds on a busy machine.
      this.timeout(60_000);
      ({ harness, room } = await startWithRoom(['one'], storeKind));
    });

    after(async () => {
      await harness?.close();
    });

    function signedPost(body: string, secret = TEST_SECRET) {
      return call(harness, 'POST', ROOM_HEADS_PATH, {
        body,
        headers: { 'content-type': 'application/json', ...signRequest(secret, { method: 'POST', path: ROOM_HEADS_PATH, body }) },
      });
    }

    it('answers the head of every room asked, 0 for a room that does not exist', async () => {
      const missing = uniqueRoom();
      const answer = await signedPost(JSON.stringify({ rooms: [room, missing, room] }));
      expect(answer.status).to.equal(200);
      expect(answer.json).to.deep.equal({ heads: { [room]: 2, [missing]: 0 } });
    });

    it('refuses an unsigned request with 401 signature_required', async () => {
      const answer = await call(harness, 'POST', ROOM_HEADS_PATH, { json: { rooms: [room] } });
      expect(answer.status).to.equal(401);
      expect(answer.json.error.code).to.equal('signature_required');
    });

    it('refuses a request signed with another secret with 403 bad_signature', async () => {
      const answer = await signedPost(JSON.stringify({ rooms: [room] }), 'another-secret-that-is-32-characters-long');
      expect(answer.status).to.equal(403);
      expect(answer.json.error.code).to.equal('bad_signature');
    });

    it(`refuses more than ${MAX_ROOM_HEADS} rooms with 400 invalid_body`, async () => {
      const rooms = Array.from({ length: MAX_ROOM_HEADS + 1 }, (_, index) => `r${index}`);
      const answer = await signedPost(JSON.stringify({ rooms }));
      expect(answer.status).to.equal(400);
      expect(answer.json.error.code).to.equal('invalid_body');
    });

    it('refuses an invalid room name with 400 invalid_room', async () => {
      const answer = await signedPost(JSON.stringify({ rooms: ['NOPE'] }));
      expect(answer.status).to.equal(400);
      expect(answer.json.error.code).to.equal('invalid_room');
    });

    it('refuses a body that is not JSON with 400 invalid_body', async () => {
      const answer = await signedPost('rooms=lobby');
      expect(answer.status).to.equal(400);
      expect(answer.json.error.code).to.equal('invalid_body');
    });
  });
}
