import { expect } from 'chai';
import { isChatEvent, isEventList, isSeq } from '../src/event-shape.js';

const base = { room: 'lobby', seq: 3, at: 1_763_740_000_123, id: 'abc', nickname: 'alice' };

describe('event shape', () => {
  it('accepts each event type with the fields it needs', () => {
    expect(isChatEvent({ ...base, type: 'message', text: 'hi' })).to.equal(true);
    expect(isChatEvent({ ...base, type: 'enter' })).to.equal(true);
    expect(isChatEvent({ ...base, type: 'leave' })).to.equal(true);
    expect(isChatEvent({ ...base, type: 'nick', from: 'al' })).to.equal(true);
  });

  for (const [what, value] of [
    ['null', null],
    ['an array', [base]],
    ['an unknown type', { ...base, type: 'shout' }],
    ['a message without text', { ...base, type: 'message' }],
    ['a nick without from', { ...base, type: 'nick' }],
    ['an invalid room name', { ...base, type: 'enter', room: 'Lobby' }],
    ['seq 0', { ...base, type: 'enter', seq: 0 }],
    ['a fractional seq', { ...base, type: 'enter', seq: 1.5 }],
    ['an infinite at', { ...base, type: 'enter', at: Infinity }],
    ['a numeric id', { ...base, type: 'enter', id: 7 }],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(isChatEvent(value)).to.equal(false);
    });
  }

  it('isSeq takes positive safe integers only', () => {
    expect([1, 2 ** 53 - 1].map(isSeq)).to.deep.equal([true, true]);
    expect([0, -1, 2 ** 53, '1', 1.5].map(isSeq)).to.deep.equal([false, false, false, false, false]);
  });

  it('isEventList needs an events array of events', () => {
    expect(isEventList({ events: [] })).to.equal(true);
    expect(isEventList({ events: [{ ...base, type: 'enter' }] })).to.equal(true);
    expect(isEventList({ events: [{ ...base, type: 'enter' }, { ...base }] })).to.equal(false);
    expect(isEventList({ event: [] })).to.equal(false);
  });
});
