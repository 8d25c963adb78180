import { expect } from 'chai';
import type { ChatEvent, ObserveAnswer } from '@parley/protocol';
import { ParleyError } from '../src/errors.js';
import { ObserveLoop, type ConnectionState } from '../src/observe-loop.js';
import type { ObserveTransport } from '../src/transports.js';

function message(room: string, seq: number): ChatEvent {
  return { room, seq, type: 'message', at: 1_700_000_000_000 + seq, nickname: 'bob', user: null, text: `m${seq}`, id: `${room}-${seq}` };
}

/** One step of the scripted server: an answer, or an error to throw. */
type Step = ObserveAnswer | ParleyError;

/**
 * The transport seam of ObserveLoop, scripted: each poll records what it asked
 * and takes the next step; when the script is used up it parks until aborted.
 */
function scriptedTransport(steps: Step[]): { transport: ObserveTransport; asked: Array<{ rooms: string; wait: number; at: number }> } {
  const asked: Array<{ rooms: string; wait: number; at: number }> = [];
  const transport: ObserveTransport = (rooms, wait, signal) => {
    asked.push({ rooms, wait, at: Date.now() });
    const step = steps.shift();
    if (step === undefined) {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new ParleyError('network', 0, 'aborted'))));
    }
    return step instanceof ParleyError ? Promise.reject(step) : Promise.resolve(step);
  };
  return { transport, asked };
}

async function until(probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ObserveLoop', () => {
  let loop: ObserveLoop | undefined;

  afterEach(() => {
    loop?.stop();
    loop = undefined;
  });

  it('asks without a hold until live, then with the configured wait', async () => {
    const { transport, asked } = scriptedTransport([{ events: [], cursor: 'lobby:4' }]);
    const states: ConnectionState[] = [];
    loop = new ObserveLoop({ transport, waitSeconds: 25, onEvents: () => undefined, onState: (state) => states.push(state) });
    loop.watch('lobby');
    loop.start();
    await until(() => asked.length === 2);
    expect(asked.map((poll) => [poll.rooms, poll.wait])).to.deep.equal([
      ['lobby', 0],
      ['lobby:4', 25],
    ]);
    expect(states).to.deep.equal(['connecting', 'live']);
  });

  it('hands on each event once, in order, and drops repeats', async () => {
    const { transport } = scriptedTransport([
      { events: [message('lobby', 3), message('lobby', 4)], cursor: 'lobby:4' },
      { events: [message('lobby', 4), message('lobby', 5)], cursor: 'lobby:5' },
    ]);
    const seen: number[] = [];
    loop = new ObserveLoop({ transport, onEvents: (events) => seen.push(...events.map((event) => event.seq)) });
    loop.watch('lobby', 2);
    loop.start();
    await until(() => seen.length >= 3);
    expect(seen).to.deep.equal([3, 4, 5]);
    expect(loop.cursorText).to.equal('lobby:5');
  });

  it('resumes from its cursor after a failure, no sooner than the server advised', async () => {
    const { transport, asked } = scriptedTransport([
      { events: [message('lobby', 3)], cursor: 'lobby:3' },
      new ParleyError('unavailable', 503, 'busy', 1),
      { events: [message('lobby', 4)], cursor: 'lobby:4' },
    ]);
    const states: ConnectionState[] = [];
    const seen: number[] = [];
    loop = new ObserveLoop({
      transport,
      minBackoffMs: 1,
      onEvents: (events) => seen.push(...events.map((event) => event.seq)),
      onState: (state) => states.push(state),
    });
    loop.watch('lobby', 2);
    loop.start();
    await until(() => seen.length === 2);
    expect(asked.slice(0, 3).map((poll) => poll.rooms)).to.deep.equal(['lobby:2', 'lobby:3', 'lobby:3']);
    // The retry after the failure asks without a hold again, and waited for Retry-After.
    expect(asked[2]?.wait).to.equal(0);
    expect((asked[2]?.at ?? 0) - (asked[1]?.at ?? 0)).to.be.at.least(950);
    expect(states).to.deep.equal(['connecting', 'live', 'reconnecting', 'live']);
  });

  it('restarts every room from now when the server refuses the cursor', async () => {
    const { transport, asked } = scriptedTransport([new ParleyError('invalid_cursor', 400, 'ahead')]);
    const reset: string[] = [];
    loop = new ObserveLoop({ transport, minBackoffMs: 1, onEvents: () => undefined, onReset: (room) => reset.push(room) });
    loop.watch('lobby', 90);
    loop.watch('dev', 3);
    loop.start();
    await until(() => asked.length === 2);
    expect(reset).to.deep.equal(['lobby', 'dev']);
    expect(asked[1]?.rooms).to.equal('lobby,dev');
  });

  it('restarts the poll in flight when a room is added', async () => {
    const { transport, asked } = scriptedTransport([{ events: [], cursor: 'lobby:1' }]);
    loop = new ObserveLoop({ transport, onEvents: () => undefined });
    loop.watch('lobby', 1);
    loop.start();
    await until(() => asked.length === 2);
    loop.watch('dev', 7);
    await until(() => asked.length === 3);
    expect(asked[2]?.rooms).to.equal('lobby:1,dev:7');
  });
});
