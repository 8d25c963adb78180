import { expect } from 'chai';
import { RoomBuffer } from '../src/room-buffer.js';
import { messageEvent } from './support/web-stand-in.js';

function seqsOf(texts: string[] | undefined): number[] | undefined {
  return texts?.map((text) => (JSON.parse(text) as { seq: number }).seq);
}

describe('RoomBuffer', () => {
  it('appends the next seq and advances the head', () => {
    const buffer = new RoomBuffer('lobby', 10, 4);
    expect(buffer.append(messageEvent('lobby', 5))).to.equal('appended');
    expect(buffer.head).to.equal(5);
    expect(seqsOf(buffer.eventsAfter(4, 100))).to.deep.equal([5]);
  });

  it('keeps each event as the JSON text serialised at insertion', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    const event = messageEvent('lobby', 1);
    buffer.append(event);
    event.nickname = 'changed later';
    expect(buffer.eventsAfter(0, 10)).to.deep.equal([JSON.stringify(messageEvent('lobby', 1))]);
  });

  it('drops and counts an event at or below the head as a duplicate', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    buffer.append(messageEvent('lobby', 1));
    expect(buffer.append(messageEvent('lobby', 1))).to.equal('duplicate');
    expect(buffer.duplicates).to.equal(1);
    expect(seqsOf(buffer.eventsAfter(0, 10))).to.deep.equal([1]);
  });

  it('holds an event beyond a gap without advancing the head', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    expect(buffer.append(messageEvent('lobby', 3))).to.equal('held');
    expect(buffer.head).to.equal(0);
    expect(buffer.heldCount).to.equal(1);
    expect(buffer.highestKnownSeq).to.equal(3);
    expect(buffer.eventsAfter(0, 10)).to.deep.equal([]);
  });

  it('appends held events in order once the gap is filled', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    buffer.append(messageEvent('lobby', 4));
    buffer.append(messageEvent('lobby', 2));
    buffer.append(messageEvent('lobby', 3));
    expect(buffer.append(messageEvent('lobby', 1))).to.equal('appended');
    expect(buffer.head).to.equal(4);
    expect(buffer.heldCount).to.equal(0);
    expect(seqsOf(buffer.eventsAfter(0, 10))).to.deep.equal([1, 2, 3, 4]);
  });

  it('counts a held event offered again as a duplicate', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    buffer.append(messageEvent('lobby', 3));
    expect(buffer.append(messageEvent('lobby', 3))).to.equal('duplicate');
    expect(buffer.heldCount).to.equal(1);
  });

  it('keeps only the last capacity events and reports the oldest one it holds', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    for (let seq = 1; seq <= 25; seq++) buffer.append(messageEvent('lobby', seq));
    expect(buffer.oldestBufferedSeq).to.equal(16);
    expect(seqsOf(buffer.eventsAfter(15, 100))).to.deep.equal([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(buffer.eventsAfter(14, 100)).to.equal(undefined);
  });

  it('does not reach back before the event it started at', () => {
    const buffer = new RoomBuffer('lobby', 10, 6);
    buffer.append(messageEvent('lobby', 7));
    expect(buffer.oldestBufferedSeq).to.equal(7);
    expect(buffer.eventsAfter(5, 10)).to.equal(undefined);
    expect(seqsOf(buffer.eventsAfter(6, 10))).to.deep.equal([7]);
  });

  it('gives at most limit events after a cursor', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    for (let seq = 1; seq <= 8; seq++) buffer.append(messageEvent('lobby', seq));
    expect(seqsOf(buffer.eventsAfter(2, 3))).to.deep.equal([3, 4, 5]);
  });

  it('gives nothing after a cursor at or beyond the head, even in an empty room', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    expect(buffer.eventsAfter(0, 10)).to.deep.equal([]);
    expect(buffer.eventsAfter(3, 10)).to.deep.equal([]);
  });

  it('bounds the held events by its capacity', () => {
    const buffer = new RoomBuffer('lobby', 10, 0);
    for (let seq = 2; seq <= 30; seq++) buffer.append(messageEvent('lobby', seq));
    expect(buffer.heldCount).to.equal(10);
    expect(buffer.highestKnownSeq).to.equal(11);
  });
});
