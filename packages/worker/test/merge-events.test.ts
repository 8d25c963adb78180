import { expect } from 'chai';
import { mergeEvents } from '../src/merge-events.js';
import { messageEvent } from './stub-chatserver.js';

describe('mergeEvents', function () {
  it('keeps a single list as it is', function () {
    const list = [messageEvent('b', 2), messageEvent('a', 1)];
    expect(mergeEvents([list])).to.deep.equal(list);
  });

  it('orders each room by seq and keeps rooms in order of first appearance', function () {
    const merged = mergeEvents([[messageEvent('b', 7)], [messageEvent('a', 3)], [messageEvent('b', 6)]]);
    expect(merged.map((event) => `${event.room}:${event.seq}`)).to.deep.equal(['b:6', 'b:7', 'a:3']);
  });

  it('sends an event present in two lists once', function () {
    const merged = mergeEvents([[messageEvent('a', 1), messageEvent('a', 2)], [messageEvent('a', 2)]]);
    expect(merged.map((event) => event.seq)).to.deep.equal([1, 2]);
  });
});
