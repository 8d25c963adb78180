import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ChatError, silentLogger } from '@parley/protocol';
import { openSqliteStore, type SqliteStore, type StoredWrite } from '@parley/store';
import { createSayBatcher } from '../src/say-batcher.js';

const T0 = 1_763_740_000_000;

describe('say batcher (group commit)', () => {
  let dir: string;
  let store: SqliteStore;
  let published: StoredWrite[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-say-batcher-'));
    store = openSqliteStore({ path: join(dir, 'db.sqlite') });
    published = [];
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sessionIn(room: string, nickname: string): Promise<string> {
    const session = await store.createSession({ tokenHash: `hash-${nickname}`, nickname, now: T0 });
    await store.enterRoom(session.id, room, T0, 0);
    return session.id;
  }

  it('commits the says of one turn together and publishes their events as one outbox row', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 256, publish: (write) => published.push(write) });
    const results = await Promise.all(
      ['one', 'two', 'three'].map((text) => batcher.say({ sessionId: alice, room: 'lobby', text, now: T0 })),
    );
    expect(results.map((result) => result.event.seq)).to.deep.equal([2, 3, 4]);
    expect(published).to.have.length(1);
    expect(published[0]?.events).to.deep.equal(results.map((result) => result.event));
    expect(await store.outboxDepth()).to.equal(2); // the enter's row and the group's row
  });

  it('rejects a refused say with its own error and answers the others of its group', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const bob = await sessionIn('dev', 'bob');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 256, publish: (write) => published.push(write) });
    const outcomes = await Promise.allSettled([
      batcher.say({ sessionId: alice, room: 'lobby', text: 'hi', now: T0 }),
      batcher.say({ sessionId: bob, room: 'lobby', text: 'not in it', now: T0 }),
      batcher.say({ sessionId: alice, room: 'lobby', text: 'again', now: T0 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const refusal = outcomes[1];
    expect(refusal?.status === 'rejected' && (refusal.reason as ChatError).code).to.equal('not_in_room');
    expect(published[0]?.events.map((event) => event.seq)).to.deep.equal([2, 3]);
  });

  it('splits a burst into groups of at most maxGroup says', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 4, publish: (write) => published.push(write) });
    await Promise.all(Array.from({ length: 10 }, (_, index) => batcher.say({ sessionId: alice, room: 'lobby', text: `m${index}`, now: T0 })));
    expect(published.map((write) => write.events.length)).to.deep.equal([4, 4, 2]);
    expect(await store.roomSeq('lobby')).to.equal(11);
  });

  it('gathers the says that arrive while maxGroupsInFlight groups commit into one next group', async () => {
    const alice = await sessionIn('lobby', 'alice');
    // A store whose first commit waits until released: a slow PostgreSQL commit.
    let release: () => void = () => undefined;
    const firstCommitHeld = new Promise<void>((resolve) => (release = resolve));
    let commits = 0;
    const slowStore = Object.create(store) as SqliteStore;
    slowStore.sayMany = async (inputs) => {
      if (commits++ === 0) await firstCommitHeld;
      return store.sayMany(inputs);
    };
    const batcher = createSayBatcher({
      store: slowStore,
      log: silentLogger,
      maxGroup: 256,
      maxGroupsInFlight: 1,
      publish: (write) => published.push(write),
    });
    const said = [batcher.say({ sessionId: alice, room: 'lobby', text: 'first', now: T0 })];
    // Four more says, each in a later turn of the event loop, while the first group commits.
    for (let index = 0; index < 4; index++) {
      await new Promise((resolve) => setImmediate(resolve));
      said.push(batcher.say({ sessionId: alice, room: 'lobby', text: `later ${index}`, now: T0 }));
    }
    expect(commits).to.equal(1);
    release();
    await Promise.all(said);
    expect(published.map((write) => write.events.length)).to.deep.equal([1, 4]);
    expect(await store.roomSeq('lobby')).to.equal(6);
  });

  it('caps a group by bytes, so a burst of the largest texts never makes an outbox row near the 1 MiB notify limit', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 256, publish: (write) => published.push(write) });
    // 2000 emoji: the longest text a say may carry, 8000 bytes of UTF-8.
    const text = '😀'.repeat(2000);
    const results = await Promise.all(
      Array.from({ length: 256 }, (_, index) => batcher.say({ sessionId: alice, room: 'lobby', text, clientId: `c-${index}`, now: T0 })),
    );
    expect(results.map((result) => result.event.seq)).to.deep.equal(Array.from({ length: 256 }, (_, index) => index + 2));
    expect(published.length).to.be.at.least(8);
    expect(published.flatMap((write) => write.events)).to.deep.equal(results.map((result) => result.event));
    const claimed = await store.claimOutbox({ olderThan: T0 + 1, limit: 100, leaseMs: 1000, now: T0 + 1 });
    const groupRows = claimed.filter((row) => published.some((write) => write.outboxId === row.id));
    expect(groupRows).to.have.length(published.length);
    for (const row of groupRows) expect(Buffer.byteLength(JSON.stringify(row.events))).to.be.at.most(256 * 1024);
  });

  it('publishes nothing for a repeated clientId and answers it with the first event', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 256, publish: (write) => published.push(write) });
    const first = await batcher.say({ sessionId: alice, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
    const repeat = await batcher.say({ sessionId: alice, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
    expect(repeat).to.deep.include({ duplicate: true, event: first.event });
    expect(published.filter((write) => write.events.length > 0)).to.have.length(1);
  });

  it('with maxGroup 1 stores every say in its own transaction and outbox row', async () => {
    const alice = await sessionIn('lobby', 'alice');
    const batcher = createSayBatcher({ store, log: silentLogger, maxGroup: 1, publish: (write) => published.push(write) });
    await Promise.all(['a', 'b'].map((text) => batcher.say({ sessionId: alice, room: 'lobby', text, now: T0 })));
    expect(published.map((write) => write.events.length)).to.deep.equal([1, 1]);
    expect(new Set(published.map((write) => write.outboxId)).size).to.equal(2);
  });
});
