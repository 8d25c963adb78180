import { expect } from 'chai';
import { DeliveryTracker } from '../src/accounting.js';

/** One observer of `room` from head 0 that receives `seqs`; every seq in `acknowledged` was acknowledged. */
function track(seqs: number[], acknowledged: number[]): ReturnType<DeliveryTracker['counts']> {
  const tracker = new DeliveryTracker();
  const observer = tracker.addObserver('lobby', 0);
  for (const seq of acknowledged) tracker.acknowledge('lobby', seq);
  for (const seq of seqs) tracker.receive(observer, seq);
  return tracker.counts();
}

describe('DeliveryTracker', () => {
  it('counts an in-order sequence as complete', () => {
    expect(track([1, 2, 3, 4], [1, 2, 3, 4])).to.deep.equal({
      deliveries: 4, acknowledgedDeliveries: 4, expectedDeliveries: 4, lost: 0, duplicated: 0, reordered: 0, gaps: 0, completeObservers: 1,
    });
  });

  it('counts a missing acknowledged say as lost and its hole as a gap', () => {
    expect(track([1, 2, 4], [1, 2, 3, 4])).to.deep.include({ deliveries: 3, lost: 1, gaps: 1, reordered: 0, duplicated: 0, completeObservers: 0 });
  });

  it('counts a repeat as duplicated, not as a delivery', () => {
    expect(track([1, 2, 2, 3, 1], [1, 2, 3])).to.deep.include({ deliveries: 3, duplicated: 2, lost: 0, reordered: 0, gaps: 0 });
  });

  it('counts a late event as reordered, not lost', () => {
    expect(track([1, 3, 2, 4], [1, 2, 3, 4])).to.deep.include({ deliveries: 4, reordered: 1, gaps: 1, lost: 0, duplicated: 0 });
  });

  it('detects a duplicate of an event received out of order', () => {
    expect(track([2, 1, 2, 3, 3], [1, 2, 3])).to.deep.include({ deliveries: 3, duplicated: 2, reordered: 1, gaps: 1, lost: 0 });
  });

  it('ignores events at or below the head the observer started from', () => {
    const tracker = new DeliveryTracker();
    const observer = tracker.addObserver('lobby', 5);
    expect(tracker.receive(observer, 5)).to.equal(false);
    expect(tracker.receive(observer, 6)).to.equal(true);
    expect(tracker.counts()).to.deep.include({ deliveries: 1, duplicated: 1 });
  });

  it('expects each acknowledged say once per observer of its room only', () => {
    const tracker = new DeliveryTracker();
    const a1 = tracker.addObserver('a', 0);
    const a2 = tracker.addObserver('a', 0);
    const b1 = tracker.addObserver('b', 10);
    tracker.acknowledge('a', 1);
    tracker.acknowledge('a', 2);
    tracker.acknowledge('b', 11);
    for (const seq of [1, 2]) tracker.receive(a1, seq);
    tracker.receive(a2, 2);
    tracker.receive(b1, 11);
    expect(tracker.observersOf('a')).to.equal(2);
    expect(tracker.counts()).to.deep.include({ expectedDeliveries: 5, acknowledgedDeliveries: 4, lost: 1, gaps: 1, completeObservers: 2 });
    expect(tracker.allCaughtUp()).to.equal(false);
    tracker.receive(a2, 1);
    expect(tracker.allCaughtUp()).to.equal(true);
    expect(tracker.counts()).to.deep.include({ lost: 0, reordered: 1 });
  });

  it('keeps a long in-order stream in constant memory', () => {
    const tracker = new DeliveryTracker();
    const observer = tracker.addObserver('lobby', 0);
    for (let seq = 1; seq <= 100_000; seq++) tracker.receive(observer, seq);
    expect(tracker.ledger(observer)?.ahead.size).to.equal(0);
    expect(tracker.ledger(observer)?.contiguousThrough).to.equal(100_000);
  });
});
