import { expect } from 'chai';
import { ObserverRegistry, type FinishReason, type ParkedObserver } from '../src/observer-registry.js';

interface RecordingObserver extends ParkedObserver {
  finishes: Array<{ reason: FinishReason; shared: Map<string, Promise<string>> | undefined }>;
}

function observer(registry: ObserverRegistry, cursor: Record<string, number>): RecordingObserver {
  const map = new Map(Object.entries(cursor));
  const recording: RecordingObserver = {
    cursor: map,
    cursorText: [...map].map(([room, seq]) => `${room}:${seq}`).join(','),
    finishes: [],
    finish(reason, shared) {
      recording.finishes.push({ reason, shared });
      registry.unpark(recording);
    },
  };
  registry.park(recording);
  return recording;
}

describe('ObserverRegistry', () => {
  it('wakes only the observers of the changed room', () => {
    const registry = new ObserverRegistry();
    const lobby = observer(registry, { lobby: 1 });
    const dev = observer(registry, { dev: 1 });
    registry.wakeRoom('lobby');
    expect(lobby.finishes.map((finish) => finish.reason)).to.deep.equal(['wake']);
    expect(dev.finishes).to.deep.equal([]);
    expect(registry.count).to.equal(1);
  });

  it('wakes a multi-room observer once and forgets it in every room', () => {
    const registry = new ObserverRegistry();
    const both = observer(registry, { lobby: 1, dev: 2 });
    registry.wakeRoom('dev');
    registry.wakeRoom('lobby');
    expect(both.finishes).to.have.length(1);
    expect(registry.isObserved('lobby')).to.equal(false);
    expect(registry.count).to.equal(0);
  });

  it('hands the observers of one wake-up the same answer cache, so equal cursors share one body', () => {
    const registry = new ObserverRegistry();
    const first = observer(registry, { lobby: 1 });
    const second = observer(registry, { lobby: 1 });
    registry.wakeRoom('lobby');
    expect(first.finishes[0]?.shared).to.be.instanceOf(Map);
    expect(second.finishes[0]?.shared).to.equal(first.finishes[0]?.shared);
  });

  it('finishes every parked observer on shutdown', () => {
    const registry = new ObserverRegistry();
    const observers = [observer(registry, { lobby: 1 }), observer(registry, { lobby: 1, dev: 1 }), observer(registry, { dev: 3 })];
    registry.finishAll('shutdown');
    expect(observers.map((item) => item.finishes.map((finish) => finish.reason))).to.deep.equal([['shutdown'], ['shutdown'], ['shutdown']]);
    expect(registry.count).to.equal(0);
  });
});
