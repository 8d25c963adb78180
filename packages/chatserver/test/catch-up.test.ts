import { expect } from 'chai';
import { ROOM_HEADS_PATH, isLiveMessage, registryKey, silentLogger, type ObserveAnswer } from '@parley/protocol';
import { CatchUp } from '../src/catch-up.js';
import { RoomDirectory } from '../src/room-directory.js';
import { createWebClient, type WebClient } from '../src/web-client.js';
import { get, SECRET, useChatFixture, waitFor } from './support/harness.js';
import { startWebStandIn, type WebStandIn } from './support/web-stand-in.js';

describe('CatchUp', () => {
  let web: WebStandIn;
  let client: WebClient;
  let directory: RoomDirectory;
  let observed: string[];
  let catchUp: CatchUp;

  beforeEach(async () => {
    web = await startWebStandIn(SECRET);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    directory = new RoomDirectory({ capacity: 100, web: client, log: silentLogger, onAdvance: () => undefined });
    observed = [];
    catchUp = new CatchUp({ intervalMs: 60_000, web: client, rooms: directory, observedRooms: () => observed, log: silentLogger, roomsPerPass: 2, graceMs: 10 });
  });
  afterEach(async () => {
    catchUp.stop();
    directory.close();
    await client.close();
    await web.close();
  });

  const headsRequests = (): string[] => web.served.filter((line) => line.startsWith(ROOM_HEADS_PATH));

  it('repairs an observed room whose last events never arrived', async () => {
    const events = web.addMessages('lobby', 3);
    directory.applyEvents([events[0]!]);
    observed = ['lobby'];
    expect(await catchUp.runOnce()).to.equal(1);
    expect(directory.get('lobby')?.head).to.equal(3);
  });

  it('asks the heads of all observed rooms in one request and repairs none that is current', async () => {
    const lobby = web.addMessages('lobby', 2);
    const dev = web.addMessages('dev', 1);
    directory.applyEvents([...lobby, ...dev]);
    observed = ['lobby', 'dev'];
    expect(await catchUp.runOnce()).to.equal(0);
    expect(web.served).to.deep.equal([`${ROOM_HEADS_PATH} {"rooms":["lobby","dev"]}`]);
  });

  it('repairs nothing when the missing events arrive during the grace', async () => {
    const events = web.addMessages('lobby', 2);
    directory.applyEvents([events[0]!]);
    observed = ['lobby'];
    const patient = new CatchUp({ intervalMs: 60_000, web: client, rooms: directory, observedRooms: () => observed, log: silentLogger, graceMs: 300 });
    const pass = patient.runOnce();
    // The notify in flight when the heads were read lands within the grace.
    await waitFor(() => headsRequests().length === 1, 2000, 'the heads request');
    await new Promise((resolve) => setTimeout(resolve, 100));
    directory.applyEvents([events[1]!]);
    expect(await pass).to.equal(0);
    expect(web.served.filter((line) => !line.startsWith(ROOM_HEADS_PATH))).to.deep.equal([]);
  });

  it('asks nothing when no room is observed', async () => {
    expect(await catchUp.runOnce()).to.equal(0);
    expect(web.served).to.deep.equal([]);
  });

  it('asks more rooms than one request may name in turn over the next passes', async () => {
    for (const room of ['a', 'b', 'c']) directory.applyEvents(web.addMessages(room, 1));
    observed = ['a', 'b', 'c'];
    await catchUp.runOnce();
    await catchUp.runOnce();
    expect(headsRequests()).to.deep.equal([
      `${ROOM_HEADS_PATH} {"rooms":["a","b"]}`,
      `${ROOM_HEADS_PATH} {"rooms":["c","a"]}`,
    ]);
  });

  it('shares one pass between concurrent calls', async () => {
    directory.applyEvents(web.addMessages('lobby', 1));
    observed = ['lobby'];
    await Promise.all([catchUp.runOnce(), catchUp.runOnce()]);
    expect(headsRequests()).to.have.length(1);
  });

  it('rejects a pass the web tier cannot answer, and the next pass repairs', async () => {
    const events = web.addMessages('lobby', 2);
    directory.applyEvents([events[0]!]);
    observed = ['lobby'];
    web.failWith = 500;
    let failure: unknown;
    await catchUp.runOnce().catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.be.instanceOf(Error);
    web.failWith = undefined;
    expect(await catchUp.runOnce()).to.equal(1);
    expect(directory.get('lobby')?.head).to.equal(2);
  });
});

describe('chatserver catch-up', function () {
  this.timeout(15_000);
  const { fixture } = useChatFixture({ env: { PARLEY_CATCHUP_MS: '200' } });

  it('wakes a parked observer with events that were never notified', async () => {
    fixture.web.addMessages('lobby', 2);
    const answer = get(fixture.observeUrl('rooms=lobby:2&wait=10'), 12_000);
    await fixture.waitForParked(1);
    // Stored by the web tier, but the notify job was lost: only catch-up can deliver it.
    fixture.web.addMessages('lobby', 1, () => 'lost in Redis');
    const result = await answer;
    expect(result.status).to.equal(200);
    const body = JSON.parse(result.text) as ObserveAnswer;
    expect(body.events.map((event) => [event.seq, isLiveMessage(event) ? event.text : ''])).to.deep.equal([[3, 'lost in Redis']]);
    expect(body.cursor).to.equal('lobby:3');
    expect(result.elapsedMs).to.be.below(5000);
  });

  it('stops asking once closed', async () => {
    fixture.web.addMessages('lobby', 1);
    void get(fixture.observeUrl('rooms=lobby:1&wait=10'), 12_000).catch(() => undefined);
    await fixture.waitForParked(1);
    await waitFor(() => fixture.web.served.some((line) => line.startsWith(ROOM_HEADS_PATH)), 3000, 'a catch-up pass');
    await fixture.chat.close();
    const asked = fixture.web.served.length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(fixture.web.served.length).to.equal(asked);
  });
});

describe('chatserver catch-up after joining the registry', function () {
  this.timeout(15_000);
  const suite = useChatFixture({ eachTest: false });

  it('repairs observed rooms a moment after it joined the registry again, long before the next periodic pass', async () => {
    const chat = await suite.start({ PARLEY_CATCHUP_MS: '60000' });
    chat.web.addMessages('lobby', 2);
    const answer = get(chat.observeUrl('rooms=lobby:2&wait=10'), 12_000);
    await chat.waitForParked(1);
    // The registry lost this chatserver (a Redis failover): workers sent the
    // next event to the others only, until its next beat joined again.
    await chat.redis.zrem(registryKey(chat.prefix), `http://127.0.0.1:${chat.ports.internalPort}`);
    const lostAt = Date.now();
    chat.web.addMessages('lobby', 1, () => 'sent while away');
    const result = await answer;
    const body = JSON.parse(result.text) as ObserveAnswer;
    expect(body.events.map((event) => [event.seq, isLiveMessage(event) ? event.text : ''])).to.deep.equal([[3, 'sent while away']]);
    // A beat (200 ms), the join pass 1 s later, one repair: far from the 60 s periodic pass.
    expect(Date.now() - lostAt).to.be.below(4000);
  });
});
