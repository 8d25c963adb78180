import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { ParleyError } from '@parley/client';
import { SendQueue, type OutgoingState } from '../ui/lib/send-queue.js';

interface Message {
  clientId: string;
  text: string;
}

/** A `say` under the test's control: each call waits until the test answers it. */
function scriptedSend() {
  const calls: Array<{ message: Message; answer: (error?: ParleyError) => void }> = [];
  const send = (message: Message): Promise<void> =>
    new Promise((resolve, reject) => {
      calls.push({ message, answer: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  return { calls, send };
}

const offline = (): ParleyError => new ParleyError('network', 0, 'Failed to fetch');

describe('the page\'s send queue (ui/lib/send-queue.ts)', () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  let states: string[];
  let queue: SendQueue<Message>;
  let sends: ReturnType<typeof scriptedSend>;
  const messages = [1, 2, 3].map((n) => ({ clientId: `c${n}`, text: `m${n}` }));

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    states = [];
    sends = scriptedSend();
    queue = new SendQueue<Message>({
      send: sends.send,
      stateChanged: (message: Message, state: OutgoingState) => states.push(`${message.text}:${state}`),
    });
  });

  afterEach(() => clock.uninstall());

  it('sends one message at a time, in the order written', async () => {
    for (const message of messages) queue.add(message);
    await clock.tickAsync(0);
    expect(sends.calls.map((call) => call.message.text)).to.deep.equal(['m1']);
    sends.calls[0]?.answer();
    await clock.tickAsync(0);
    sends.calls[1]?.answer();
    await clock.tickAsync(0);
    sends.calls[2]?.answer();
    await clock.tickAsync(0);
    expect(sends.calls.map((call) => call.message.text)).to.deep.equal(['m1', 'm2', 'm3']);
    expect(queue.waiting).to.deep.equal([]);
  });

  it('keeps messages that failed offline waiting, and sends them in order with the same clientId when resumed', async () => {
    queue.add(messages[0]!);
    await clock.tickAsync(0);
    sends.calls[0]?.answer(offline());
    await clock.tickAsync(0);
    queue.add(messages[1]!);
    queue.add(messages[2]!);
    expect(states.slice(-3)).to.deep.equal(['m1:waiting', 'm2:waiting', 'm3:waiting']);
    // Nothing is sent while it waits (the first backoff is 1 s).
    await clock.tickAsync(500);
    expect(sends.calls).to.have.length(1);
    queue.resume();
    await clock.tickAsync(0);
    for (let index = 1; index <= 3; index++) {
      sends.calls[index]?.answer();
      await clock.tickAsync(0);
    }
    expect(sends.calls.map((call) => call.message.clientId)).to.deep.equal(['c1', 'c1', 'c2', 'c3']);
    expect(queue.waiting).to.deep.equal([]);
  });

  it('tries again by itself after a backoff when nothing says the connection is back', async () => {
    queue.add(messages[0]!);
    await clock.tickAsync(0);
    sends.calls[0]?.answer(offline());
    await clock.tickAsync(999);
    expect(sends.calls).to.have.length(1);
    await clock.tickAsync(1);
    expect(sends.calls).to.have.length(2);
    sends.calls[1]?.answer(offline());
    // The second wait is twice as long.
    await clock.tickAsync(1999);
    expect(sends.calls).to.have.length(2);
    await clock.tickAsync(1);
    expect(sends.calls).to.have.length(3);
  });

  it('tries again at once when the connection came back while a failing send was on its way', async () => {
    queue.add(messages[0]!);
    await clock.tickAsync(0);
    sends.calls[0]?.answer(offline());
    await clock.tickAsync(1000);
    expect(sends.calls).to.have.length(2);
    // The second try is in flight (the next backoff would be 2 s) when the connection returns.
    queue.resume();
    sends.calls[1]?.answer(offline());
    await clock.tickAsync(0);
    expect(sends.calls).to.have.length(3);
  });

  it('after a 429 waits the Retry-After seconds, even when the connection comes back meanwhile', async () => {
    queue.add(messages[0]!);
    queue.add(messages[1]!);
    await clock.tickAsync(0);
    sends.calls[0]?.answer(new ParleyError('rate_limited', 429, 'too many requests', 3));
    await clock.tickAsync(0);
    queue.resume();
    await clock.tickAsync(2999);
    expect(sends.calls).to.have.length(1);
    await clock.tickAsync(1);
    expect(sends.calls.map((call) => call.message.clientId)).to.deep.equal(['c1', 'c1']);
    sends.calls[1]?.answer();
    await clock.tickAsync(0);
    expect(sends.calls.map((call) => call.message.clientId)).to.deep.equal(['c1', 'c1', 'c2']);
  });

  it('marks a message refused for good as failed and goes on with the next', async () => {
    queue.add(messages[0]!);
    queue.add(messages[1]!);
    await clock.tickAsync(0);
    sends.calls[0]?.answer(new ParleyError('invalid_text', 400, 'text must not be empty'));
    await clock.tickAsync(0);
    expect(states).to.include('m1:failed');
    expect(sends.calls.map((call) => call.message.text)).to.deep.equal(['m1', 'm2']);
    sends.calls[1]?.answer();
    await clock.tickAsync(0);
    // Retry puts it back at the end.
    queue.retry(messages[0]!);
    await clock.tickAsync(0);
    expect(sends.calls.map((call) => call.message.text)).to.deep.equal(['m1', 'm2', 'm1']);
  });
});
