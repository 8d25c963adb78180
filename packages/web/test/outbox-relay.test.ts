import { notifyJobId } from '../src/notifier.js';
import { expect } from 'chai';
import type { Logger } from '@parley/protocol';
import { call, jobOfEvent, newSession, settle, startHarness, uniqueRoom, waitFor, type RedisHarness } from './harness.js';

describe('outbox relay', () => {
  let harness: RedisHarness;
  /** The `task` field of every line the app logged, with its message. */
  let logged: Array<{ task: unknown; message: string }>;
  const recordingLogger: Logger = {
    debug() {},
    info: (fields, message) => void logged.push({ task: (fields as { task?: unknown }).task, message }),
    warn: (fields, message) => void logged.push({ task: (fields as { task?: unknown }).task, message }),
    error: (fields, message) => void logged.push({ task: (fields as { task?: unknown }).task, message }),
    child: () => recordingLogger,
  };

  beforeEach(async () => {
    logged = [];
    harness = await startHarness({ env: { PARLEY_OUTBOX_RELAY_MS: '100' }, relay: { intervalMs: 100 }, log: recordingLogger });
  });

  afterEach(async () => {
    await harness?.close();
  });

  it('queues a say answered while Redis was down once Redis is back', async () => {
    const session = await newSession(harness, 'alice');
    const room = uniqueRoom();
    await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
    await settle(harness);

    await harness.redis.stop();
    const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'during the outage' } });
    expect(answer.status).to.equal(201);
    expect(await harness.store.outboxDepth()).to.equal(1);
    // Let the relay try (and fail) at least once while Redis is down.
    const relayFailed = async (): Promise<boolean> =>
      logged.some((line) => line.task === 'outbox relay' && line.message === 'periodic task failing');
    await waitFor(relayFailed, 5000, 'a relay pass to fail');
    expect(await harness.store.outboxDepth()).to.equal(1);

    await harness.redis.start();
    const data = await waitFor(() => jobOfEvent(harness, answer.json.event), 8000, 'relayed job');
    expect(data.events).to.deep.equal([answer.json.event]);
    const job = await harness.queue.getJob(notifyJobId(data.events));
    expect(job?.data).to.deep.equal(data);
    await settle(harness);
  });

  it('queues a committed row whose process never queued it, then acknowledges it', async () => {
    // A write straight into the store is what a web process leaves behind when it dies between commit and queue.add.
    const session = await harness.store.createSession({ tokenHash: 'f'.repeat(64), nickname: 'ghost', now: Date.now() });
    const write = await harness.store.enterRoom(session.id, uniqueRoom(), Date.now(), 50);
    expect(await harness.store.outboxDepth()).to.equal(1);
    const data = await waitFor(() => jobOfEvent(harness, write.recent[0]!), 5000, 'relayed job');
    expect(data).to.deep.equal({ outboxId: write.outboxId, events: write.events });
    const job = await harness.queue.getJob(notifyJobId(write.events));
    expect(job?.opts).to.deep.include({ attempts: 8, backoff: { type: 'exponential', delay: 200 } });
    await settle(harness);
  });

  it('makes one job of a row queued twice', async () => {
    const session = await harness.store.createSession({ tokenHash: 'e'.repeat(64), nickname: 'ghost', now: Date.now() });
    const write = await harness.store.enterRoom(session.id, uniqueRoom(), Date.now(), 50);
    await waitFor(() => jobOfEvent(harness, write.events[0]!), 5000, 'relayed job');
    const jobs = await harness.queue.getJobs(['waiting']);
    await harness.queue.add('notify', { outboxId: write.outboxId!, events: write.events }, { jobId: notifyJobId(write.events) });
    expect(await harness.queue.getJobs(['waiting'])).to.have.length(jobs.length);
  });
});
