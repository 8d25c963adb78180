import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startRedisServer, type RedisServerHandle } from '@parley/cluster';
import {
  NOTIFY_QUEUE_NAME,
  registryKey,
  silentLogger,
  type ChatEvent,
  type NotifyJobData,
} from '@parley/protocol';
import { Queue, type Job } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { NO_LIVE_CHATSERVER, createWorker, type NotifyWorker } from '../src/worker.js';
import {
  TEST_SECRET,
  messageEvent,
  startStubChatserver,
  waitFor,
  type StubAnswer,
  type StubChatserver,
} from './stub-chatserver.js';

describe('notify worker', function () {
  let redisDir: string;
  let redisServer: RedisServerHandle;
  let testNumber = 0;
  let prefix: string;
  let connection: Redis;
  let producerConnection: Redis;
  let queue: Queue<NotifyJobData>;
  let worker: NotifyWorker | undefined;
  let stubs: StubChatserver[];
  let nextOutboxId: number;

  before(async function () {
    redisDir = await mkdtemp(join(tmpdir(), 'parley-worker-test-'));
    redisServer = await startRedisServer({ dir: redisDir, appendOnly: false });
  });

  after(async function () {
    await redisServer.stop();
    await rm(redisDir, { recursive: true, force: true });
  });

  beforeEach(function () {
    testNumber++;
    prefix = `t${testNumber}:`;
    nextOutboxId = 1;
    stubs = [];
    connection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    producerConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    queue = new Queue<NotifyJobData>(NOTIFY_QUEUE_NAME, { connection: producerConnection, prefix: `${prefix}bull` });
    queue.on('error', () => undefined);
  });

  afterEach(async function () {
    await worker?.close();
    worker = undefined;
    await queue.close();
    await Promise.all(stubs.map((stub) => stub.close()));
    connection.disconnect();
    producerConnection.disconnect();
  });

  function startWorker(notifyTimeoutMs = 1000): NotifyWorker {
    worker = createWorker({
      connection,
      log: silentLogger,
      config: { redisPrefix: prefix, secret: TEST_SECRET, concurrency: 50, notifyTimeoutMs },
      closeTimeoutMs: 3000,
    });
    return worker;
  }

  async function startStub(options: { answer?: StubAnswer; delayMs?: number; maxBodyBytes?: number } = {}): Promise<StubChatserver> {
    const stub = await startStubChatserver(TEST_SECRET, options);
    stubs.push(stub);
    return stub;
  }

  /** Registers `url` in the registry with a heartbeat expiring `inMs` from now (negative: already expired). */
  async function register(url: string, inMs = 60_000): Promise<void> {
    await producerConnection.zadd(registryKey(prefix), Date.now() + inMs, url);
  }

  /** Adds a notify job the way the web tier does. */
  async function addJob(events: ChatEvent[], attempts = 5): Promise<Job<NotifyJobData>> {
    const outboxId = nextOutboxId++;
    return queue.add(
      'notify',
      { outboxId, events },
      {
        jobId: `outbox-${outboxId}`,
        attempts,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: { age: 3600, count: 10000 },
        removeOnFail: { age: 86400 },
      },
    );
  }

  async function jobState(job: Job<NotifyJobData>): Promise<string> {
    return queue.getJobState(job.id ?? '');
  }

  async function waitForState(job: Job<NotifyJobData>, state: string, timeoutMs: number): Promise<void> {
    await waitFor(async () => (await jobState(job)) === state, timeoutMs, `job ${job.id} to be ${state}`);
  }

  async function attemptsMade(job: Job<NotifyJobData>): Promise<number> {
    const fresh = await queue.getJob(job.id ?? '');
    return fresh?.attemptsMade ?? -1;
  }

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('delivers a job to every live chatserver once, signed, with the exact events', async function () {
    const first = await startStub();
    const second = await startStub();
    await register(first.url);
    await register(second.url);
    startWorker();
    const events = [messageEvent('lobby', 1), messageEvent('lobby', 2), messageEvent('dev', 7)];

    const job = await addJob(events);
    await waitForState(job, 'completed', 5000);
    await pause(100);

    for (const stub of [first, second]) {
      expect(stub.received).to.have.length(1);
      expect(stub.received[0]?.signatureValid).to.equal(true);
      expect(stub.received[0]?.path).to.equal('/internal/notify');
      expect(stub.received[0]?.contentType).to.equal('application/json');
      expect(stub.received[0]?.events).to.deep.equal(events);
    }
  });

  it('delivers a job bigger than the chatserver\'s 1 MiB notify body limit in several POSTs', async function () {
    const stub = await startStub({ maxBodyBytes: 1024 * 1024 });
    await register(stub.url);
    startWorker();
    // A full say group of the longest texts (2000 emoji, 8000 bytes each): over 2 MiB.
    const events: ChatEvent[] = Array.from({ length: 256 }, (_, index) => ({
      ...messageEvent('lobby', index + 1),
      type: 'message',
      text: '😀'.repeat(2000),
    }));

    const job = await addJob(events);
    await waitForState(job, 'completed', 10_000);

    expect(stub.received.length).to.be.at.least(4);
    expect(stub.received.flatMap((notify) => notify.events)).to.deep.equal(events);
  });

  it('sends nothing to a chatserver whose registry entry has expired', async function () {
    const live = await startStub();
    const expired = await startStub();
    await register(live.url);
    await register(expired.url, -1000);
    startWorker();

    const job = await addJob([messageEvent('lobby', 1)]);
    await waitForState(job, 'completed', 5000);
    await pause(100);

    expect(live.received).to.have.length(1);
    expect(expired.received).to.have.length(0);
  });

  it('retries a job that finds the registry empty (as right after a Redis failover) and delivers it once a chatserver beats', async function () {
    startWorker();
    const events = [messageEvent('lobby', 1)];
    const job = await addJob(events);
    await waitFor(async () => (await attemptsMade(job)) >= 1, 2000, 'the first attempt to fail');
    expect(await jobState(job)).to.be.oneOf(['delayed', 'waiting', 'active']);
    const failed = await queue.getJob(job.id ?? '');
    expect(failed?.failedReason).to.equal(NO_LIVE_CHATSERVER);

    const stub = await startStub();
    await register(stub.url);
    await waitForState(job, 'completed', 5000);
    expect(stub.received.map((notify) => notify.events)).to.deep.equal([events]);
    expect((await queue.getJob(job.id ?? ''))?.returnvalue).to.deep.equal({ chatservers: 1 });
  });

  it('does not let a chatserver that never answers delay the others', async function () {
    const hanging = await startStub({ answer: () => 'hang' });
    const healthy = await startStub();
    await register(hanging.url);
    await register(healthy.url);
    startWorker(1500);

    const addedAt = Date.now();
    await addJob([messageEvent('lobby', 1)]);
    await waitFor(() => healthy.received.length === 1, 1000, 'the healthy chatserver to receive');

    expect(healthy.received[0]?.at ?? Infinity).to.be.below(addedAt + 300);
    expect(hanging.received).to.have.length(1);
  });

  it('does not let a chatserver that is down delay the others, and retries the job', async function () {
    const healthy = await startStub();
    const downUrl = `http://127.0.0.1:${await findFreePort()}`;
    await register(downUrl);
    await register(healthy.url);
    startWorker();

    const addedAt = Date.now();
    const job = await addJob([messageEvent('lobby', 1)]);
    await waitFor(() => healthy.received.length === 1, 1000, 'the healthy chatserver to receive');
    expect(healthy.received[0]?.at ?? Infinity).to.be.below(addedAt + 300);

    await waitFor(async () => (await attemptsMade(job)) >= 1, 2000, 'the first attempt to fail');
    expect(await jobState(job)).to.be.oneOf(['delayed', 'waiting', 'active']);
  });

  it('retries a job answered 500 and delivers it on the next attempt', async function () {
    const stub = await startStub({ answer: (index) => (index === 0 ? 500 : 204) });
    await register(stub.url);
    startWorker();
    const events = [messageEvent('lobby', 3)];

    const job = await addJob(events);
    await waitForState(job, 'completed', 5000);

    expect(await attemptsMade(job)).to.equal(2);
    expect(stub.received.map((notify) => notify.events)).to.deep.equal([events, events]);
  });

  it('does not retry a job a chatserver refused with 403', async function () {
    const stub = await startStub({ answer: () => 403 });
    await register(stub.url);
    startWorker();

    const job = await addJob([messageEvent('lobby', 1)]);
    await waitForState(job, 'failed', 5000);
    await pause(400);

    expect(await attemptsMade(job)).to.equal(1);
    expect(stub.received).to.have.length(1);
    const failed = await queue.getJob(job.id ?? '');
    expect(failed?.failedReason).to.contain('403');
  });

  it('retries when one chatserver refused with 403 and another answered 500', async function () {
    const refusing = await startStub({ answer: () => 403 });
    const failing = await startStub({ answer: () => 500 });
    await register(refusing.url);
    await register(failing.url);
    startWorker();

    const job = await addJob([messageEvent('lobby', 1)]);
    await waitFor(async () => (await attemptsMade(job)) >= 2, 3000, 'a second attempt');
    expect(failing.received.length).to.be.at.least(2);
  });

  it('fails a job without an events array at once', async function () {
    startWorker();
    const job = await queue.add('notify', { outboxId: 1 } as unknown as NotifyJobData, { attempts: 5 });
    await waitForState(job, 'failed', 5000);
    expect(await attemptsMade(job)).to.equal(1);
  });

  it('carries a burst of 200 jobs for one chatserver in fewer POSTs than jobs, losing none', async function () {
    // A short answer delay stands in for a loaded chatserver, so sends pile up behind each POST.
    const stub = await startStub({ delayMs: 20 });
    await register(stub.url);
    startWorker();
    const jobCount = 200;

    await queue.addBulk(
      Array.from({ length: jobCount }, (_, index) => ({
        name: 'notify',
        data: { outboxId: index + 1, events: [messageEvent('lobby', index + 1)] },
        opts: { jobId: `outbox-${index + 1}`, attempts: 5, backoff: { type: 'exponential', delay: 200 } },
      })),
    );
    await waitFor(
      async () => (await queue.getJobCounts('completed')).completed === jobCount,
      10_000,
      'every job to complete',
    );

    const seqs = stub.received.flatMap((notify) => notify.events.map((event) => event.seq));
    expect(new Set(seqs).size).to.equal(jobCount);
    expect(Math.min(...seqs)).to.equal(1);
    expect(Math.max(...seqs)).to.equal(jobCount);
    // Measured: about 8 POSTs here; half the jobs leaves room for a slow machine.
    expect(stub.received.length).to.be.below(jobCount / 2);
    for (const notify of stub.received) {
      const inPost = notify.events.map((event) => event.seq);
      expect(inPost).to.deep.equal([...inPost].sort((a, b) => a - b));
    }
  });

  it('stops consuming jobs after close()', async function () {
    const stub = await startStub();
    await register(stub.url);
    const running = startWorker();
    const before = await addJob([messageEvent('lobby', 1)]);
    await waitForState(before, 'completed', 5000);

    await running.close();
    const after = await addJob([messageEvent('lobby', 2)]);
    await pause(500);

    expect(await jobState(after)).to.equal('waiting');
    expect(stub.received).to.have.length(1);
  });
});
