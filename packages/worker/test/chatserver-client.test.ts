import { findFreePort } from '@parley/cluster';
import { silentLogger, type ChatEvent } from '@parley/protocol';
import { expect } from 'chai';
import { createChatserverClient, type ChatserverClient } from '../src/chatserver-client.js';
import { NotifyError } from '../src/notify-error.js';
import { TEST_SECRET, messageEvent, startStubChatserver, waitFor, type StubChatserver } from './stub-chatserver.js';

describe('chatserver client', function () {
  let client: ChatserverClient | undefined;
  let stubs: StubChatserver[];

  beforeEach(function () {
    stubs = [];
  });

  afterEach(async function () {
    await client?.close();
    client = undefined;
    await Promise.all(stubs.map((stub) => stub.close()));
  });

  function newClient(options: { timeoutMs?: number; maxBatchEvents?: number; maxBatchBytes?: number; idleCloseMs?: number } = {}): ChatserverClient {
    client = createChatserverClient({ secret: TEST_SECRET, log: silentLogger, timeoutMs: 1000, ...options });
    return client;
  }

  async function startStub(options: Parameters<typeof startStubChatserver>[1] = {}): Promise<StubChatserver> {
    const stub = await startStubChatserver(TEST_SECRET, options);
    stubs.push(stub);
    return stub;
  }

  async function rejection(promise: Promise<unknown>): Promise<NotifyError> {
    try {
      await promise;
    } catch (error) {
      expect(error).to.be.instanceOf(NotifyError);
      return error as NotifyError;
    }
    throw new Error('expected a rejection');
  }

  it('posts a lone send at once, signed', async function () {
    const stub = await startStub();
    const chatservers = newClient();
    const events = [messageEvent('lobby', 1)];

    await chatservers.send(stub.url, events);

    expect(stub.received).to.have.length(1);
    expect(stub.received[0]?.signatureValid).to.equal(true);
    expect(stub.received[0]?.events).to.deep.equal(events);
  });

  it('carries the sends made while a POST is in flight together in the next POST', async function () {
    const stub = await startStub({ delayMs: 100 });
    const chatservers = newClient();

    const first = chatservers.send(stub.url, [messageEvent('lobby', 1)]);
    const waiting = [2, 3, 4].map((seq) => chatservers.send(stub.url, [messageEvent('lobby', seq)]));
    await Promise.all([first, ...waiting]);

    expect(stub.received.map((notify) => notify.events.map((event) => event.seq))).to.deep.equal([[1], [2, 3, 4]]);
  });

  it('puts at most maxBatchEvents events in one POST', async function () {
    const stub = await startStub({ delayMs: 50 });
    const chatservers = newClient({ maxBatchEvents: 4 });

    const first = chatservers.send(stub.url, [messageEvent('a', 1)]);
    const waiting = [1, 2, 3].map((seq) => chatservers.send(stub.url, [messageEvent('b', 2 * seq - 1), messageEvent('b', 2 * seq)]));
    await Promise.all([first, ...waiting]);

    expect(stub.received.map((notify) => notify.events.length)).to.deep.equal([1, 4, 2]);
  });

  /** A message of 2000 emoji: 8000 bytes of UTF-8, the largest text a say may carry. */
  function bigMessage(room: string, seq: number): ChatEvent {
    return { room, seq, type: 'message', at: 1_763_740_000_000 + seq, nickname: 'alice', user: null, text: '😀'.repeat(2000), id: `ev-${room}-${seq}` };
  }

  it('splits one send bigger than the notify body limit over POSTs of at most maxBatchBytes', async function () {
    const stub = await startStub();
    const chatservers = newClient();
    // A full say group (256 says) of the largest texts: over 2 MiB, twice the chatserver's 1 MiB limit.
    const events = Array.from({ length: 256 }, (_, index) => bigMessage('lobby', index + 1));

    await chatservers.send(stub.url, events);

    expect(stub.received.length).to.be.at.least(4);
    for (const notify of stub.received) expect(notify.bodyBytes).to.be.at.most(512 * 1024 + 64);
    expect(stub.received.flatMap((notify) => notify.events)).to.deep.equal(events);
  });

  it('merges queued sends only up to maxBatchBytes per POST', async function () {
    const stub = await startStub({ delayMs: 50 });
    const chatservers = newClient({ maxBatchBytes: 20_000 });

    const first = chatservers.send(stub.url, [messageEvent('a', 1)]);
    const waiting = [1, 2, 3, 4, 5].map((seq) => chatservers.send(stub.url, [bigMessage('b', seq)]));
    await Promise.all([first, ...waiting]);

    // Each big event is ~8.2 KB: two fit in 20,000 bytes, three do not.
    expect(stub.received.map((notify) => notify.events.map((event) => event.seq))).to.deep.equal([[1], [1, 2], [3, 4], [5]]);
    for (const notify of stub.received) expect(notify.bodyBytes).to.be.at.most(20_000 + 64);
  });

  it('rejects a send when one of its pieces is refused', async function () {
    const stub = await startStub({ answer: (index) => (index === 1 ? 500 : 204) });
    const chatservers = newClient({ maxBatchBytes: 10_000 });

    const failure = await rejection(chatservers.send(stub.url, [1, 2, 3].map((seq) => bigMessage('lobby', seq))));

    expect([failure.status, failure.retryable]).to.deep.equal([500, true]);
    // The piece after the refused one is still posted (the job's retry repeats all three).
    await waitFor(() => stub.received.length === 3, 2000, 'the third piece');
    expect(stub.received.map((notify) => notify.events.map((event) => event.seq))).to.deep.equal([[1], [2], [3]]);
  });

  it('rejects every send carried by a POST answered 500 with a retryable error', async function () {
    const stub = await startStub({ answer: () => 500, delayMs: 50 });
    const chatservers = newClient();

    const first = rejection(chatservers.send(stub.url, [messageEvent('lobby', 1)]));
    const second = rejection(chatservers.send(stub.url, [messageEvent('lobby', 2)]));

    for (const error of await Promise.all([first, second])) {
      expect(error.status).to.equal(500);
      expect(error.retryable).to.equal(true);
    }
  });

  it('rejects a send answered 403 with an error that is not retryable', async function () {
    const stub = await startStub({ answer: () => 403 });
    const error = await rejection(newClient().send(stub.url, [messageEvent('lobby', 1)]));
    expect(error.status).to.equal(403);
    expect(error.retryable).to.equal(false);
  });

  it('rejects a send to a chatserver that never answers after the timeout, as retryable', async function () {
    const stub = await startStub({ answer: () => 'hang' });
    const startedAt = Date.now();
    const error = await rejection(newClient({ timeoutMs: 200 }).send(stub.url, [messageEvent('lobby', 1)]));
    expect(Date.now() - startedAt).to.be.within(150, 600);
    expect(error.message).to.contain('timeout');
    expect(error.retryable).to.equal(true);
  });

  it('rejects a send to a closed port as retryable', async function () {
    const url = `http://127.0.0.1:${await findFreePort()}`;
    const error = await rejection(newClient().send(url, [messageEvent('lobby', 1)]));
    expect(error.retryable).to.equal(true);
    expect(error.status).to.equal(undefined);
  });

  it('rejects a send to a URL that is not http as not retryable', async function () {
    const error = await rejection(newClient().send('ftp://127.0.0.1:21', [messageEvent('lobby', 1)]));
    expect(error.retryable).to.equal(false);
  });

  it('closes the pool of a chatserver that has not been live for idleCloseMs', async function () {
    const stub = await startStub();
    const chatservers = newClient({ idleCloseMs: 1000 });
    await chatservers.send(stub.url, [messageEvent('lobby', 1)]);

    chatservers.markLive([stub.url], Date.now() + 500);
    expect(chatservers.openUrls()).to.deep.equal([stub.url]);
    chatservers.markLive([], Date.now() + 2000);
    expect(chatservers.openUrls()).to.deep.equal([]);
  });
});
