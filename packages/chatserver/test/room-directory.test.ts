import { expect } from 'chai';
import { silentLogger } from '@parley/protocol';
import { RoomDirectory } from '../src/room-directory.js';
import { createWebClient, type WebClient } from '../src/web-client.js';
import { SECRET, waitFor } from './support/harness.js';
import { startWebStandIn, type WebStandIn } from './support/web-stand-in.js';

describe('RoomDirectory', () => {
  let web: WebStandIn;
  let client: WebClient;
  let directory: RoomDirectory;
  let advanced: string[];

  beforeEach(async () => {
    web = await startWebStandIn(SECRET);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    advanced = [];
    directory = new RoomDirectory({
      capacity: 100,
      web: client,
      log: silentLogger,
      gapGraceMs: 10,
      onAdvance: (room) => advanced.push(`${room.name}:${room.head}`),
    });
  });
  afterEach(async () => {
    directory.close();
    await client.close();
    await web.close();
  });

  it('loads an unknown room at the head the web tier reports, once for concurrent callers', async () => {
    web.addMessages('lobby', 7);
    const [first, second] = await Promise.all([directory.ensure('lobby'), directory.ensure('lobby')]);
    expect(first).to.equal(second);
    expect(first.head).to.equal(7);
    expect(web.served).to.have.length(1);
  });

  it('loads many unknown rooms with one request, holds rooms that do not exist as empty buffers, and asks nothing again', async () => {
    web.addMessages('lobby', 3);
    const names = ['lobby', ...Array.from({ length: 49 }, (_, i) => `ghost-${i}`)];
    const buffers = await directory.ensureAll(names);
    expect(buffers.map((buffer) => buffer.head)).to.deep.equal([3, ...Array<number>(49).fill(0)]);
    expect(web.served).to.have.length(1);
    expect(buffers.slice(1).every((buffer) => buffer.isEmpty)).to.equal(true);
    await directory.ensureAll(names);
    expect(web.served).to.have.length(1);
    // A room that did not exist takes its first event like any other.
    const [first] = web.addMessages('ghost-0', 1);
    directory.applyEvents([first!]);
    expect(directory.get('ghost-0')?.eventsAfter(0, 10)).to.deep.equal([JSON.stringify(first)]);
  });

  it('keeps at most maxRooms rooms, dropping the least recently used unobserved ones', async () => {
    const bounded = new RoomDirectory({ capacity: 100, web: client, log: silentLogger, maxRooms: 20, isObserved: (room) => room === 'kept', onAdvance: () => undefined });
    try {
      await bounded.ensure('kept');
      for (let batch = 0; batch < 5; batch++) {
        await bounded.ensureAll(Array.from({ length: 10 }, (_, i) => `r${batch}-${i}`));
        expect(bounded.size).to.be.at.most(20);
      }
      expect(bounded.get('kept')).to.not.equal(undefined);
      expect(bounded.get('r4-9')).to.not.equal(undefined);
      expect(bounded.get('r0-0')).to.equal(undefined);
    } finally {
      bounded.close();
    }
  });

  it('answers unavailable when every held room is observed', async () => {
    const full = new RoomDirectory({ capacity: 100, web: client, log: silentLogger, maxRooms: 10, isObserved: () => true, onAdvance: () => undefined });
    try {
      await full.ensureAll(Array.from({ length: 10 }, (_, i) => `o${i}`));
      let code = 'accepted';
      await full.ensureAll(['one-more', 'and-another']).catch((error: { code: string }) => (code = error.code));
      expect(code).to.equal('unavailable');
      expect(full.size).to.equal(10);
    } finally {
      full.close();
    }
  });

  it('drops a room that never had an event sooner than one that had', async () => {
    web.addMessages('lobby', 2);
    await directory.ensureAll(['lobby', 'ghost']);
    const now = Date.now();
    expect(directory.sweepIdle(600_000, () => false, now + 61_000, 60_000)).to.equal(1);
    expect(directory.get('ghost')).to.equal(undefined);
    expect(directory.get('lobby')?.head).to.equal(2);
  });

  it('starts a room first seen through a notify at that event', () => {
    const events = web.addMessages('lobby', 5);
    directory.applyEvents([events[4]!]);
    expect(directory.get('lobby')?.head).to.equal(5);
    expect(directory.get('lobby')?.oldestBufferedSeq).to.equal(5);
  });

  it('signals each advanced room once per notify, after all its events are applied', () => {
    const lobby = web.addMessages('lobby', 3);
    const dev = web.addMessages('dev', 1);
    directory.applyEvents([lobby[0]!, dev[0]!, lobby[1]!, lobby[2]!]);
    expect(advanced).to.deep.equal(['lobby:3', 'dev:1']);
  });

  it('repairs a gap from the web tier after the grace period', async () => {
    const events = web.addMessages('lobby', 4);
    directory.applyEvents([events[0]!]);
    const result = directory.applyEvents([events[3]!]);
    expect(result).to.deep.equal({ appended: 0, duplicates: 0, held: 1 });
    await waitFor(() => directory.get('lobby')?.head === 4, 2000, 'the gap to be repaired');
    expect(advanced).to.deep.equal(['lobby:1', 'lobby:4']);
  });

  it('asks nothing when the missing event arrives within the grace period', async () => {
    const events = web.addMessages('lobby', 3);
    directory.applyEvents([events[0]!]);
    directory.applyEvents([events[2]!]);
    directory.applyEvents([events[1]!]);
    expect(directory.get('lobby')?.head).to.equal(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(web.served).to.deep.equal([]);
  });

  it('retries a gap repair the web tier could not serve', async () => {
    const events = web.addMessages('lobby', 3);
    web.failWith = 500;
    directory.applyEvents([events[0]!, events[2]!]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(directory.get('lobby')?.head).to.equal(1);
    web.failWith = undefined;
    await waitFor(() => directory.get('lobby')?.head === 3, 3000, 'the retried repair');
  });

  it('drops rooms idle for the given time unless observed', () => {
    const lobby = web.addMessages('lobby', 1);
    const dev = web.addMessages('dev', 1);
    const now = Date.now();
    directory.applyEvents([...lobby, ...dev], now);
    expect(directory.sweepIdle(600_000, () => false, now + 599_999)).to.equal(0);
    expect(directory.sweepIdle(600_000, (room) => room === 'dev', now + 600_000)).to.equal(1);
    expect(directory.get('lobby')).to.equal(undefined);
    expect(directory.get('dev')).not.to.equal(undefined);
  });
});
