import { expect } from 'chai';
import { AnswerCache } from '../src/answer-cache.js';

const lobby = 'lobby';
const dev = 'dev';

describe('answer cache', () => {
  it('holds at most maxBytes of answers, dropping the least recently used first', () => {
    const cache = new AnswerCache({ maxBytes: 3200 });
    const answer = 'x'.repeat(100);
    for (let seq = 0; seq < 32; seq++) cache.set(`lobby:${seq}`, [lobby], answer);
    expect(cache.bytes).to.equal(3200);
    expect(cache.get('lobby:0')?.json).to.equal(answer);
    cache.set('lobby:99', [lobby], answer);
    expect(cache.bytes).to.equal(3200);
    expect(cache.size).to.equal(32);
    // lobby:0 was used just before, so lobby:1 went.
    expect(cache.get('lobby:0')).to.not.equal(undefined);
    expect(cache.get('lobby:1')).to.equal(undefined);
    expect(cache.get('lobby:99')).to.not.equal(undefined);
  });

  it('does not cache an answer above a 32nd of its budget', () => {
    const cache = new AnswerCache({ maxBytes: 3200 });
    const answer = cache.set('lobby:0', [lobby], 'x'.repeat(101));
    expect(answer.json).to.have.length(101);
    expect(cache.size).to.equal(0);
    expect(cache.bytes).to.equal(0);
  });

  it('counts the raw HTTP answer attached to an entry, and evicts for it', () => {
    const cache = new AnswerCache({ maxBytes: 3200 });
    for (let seq = 0; seq < 10; seq++) cache.set(`lobby:${seq}`, [lobby], 'x'.repeat(50));
    const last = cache.get('lobby:9') as NonNullable<ReturnType<AnswerCache['get']>>;
    cache.setRaw(last, Buffer.alloc(40), 'date');
    expect(cache.bytes).to.equal(540);
    // Rebuilt for a new second: replaced, not added.
    cache.setRaw(last, Buffer.alloc(40), 'date2');
    expect(cache.bytes).to.equal(540);
    // A raw answer that makes the entry too large drops the entry.
    cache.setRaw(last, Buffer.alloc(60), 'date3');
    expect(cache.get('lobby:9')).to.equal(undefined);
    expect(cache.bytes).to.equal(450);
  });

  it('drops every answer of an advanced room, also those of several rooms', () => {
    const cache = new AnswerCache();
    cache.set('lobby:1,dev:2', [lobby, dev], '{"a":1}');
    cache.set('dev:2', [dev], '{"b":1}');
    cache.set('lobby:1', [lobby], '{"c":1}');
    cache.invalidate(lobby);
    expect(cache.size).to.equal(1);
    expect(cache.get('dev:2')?.json).to.equal('{"b":1}');
    expect(cache.bytes).to.equal(7);
    cache.invalidate(dev);
    expect(cache.size).to.equal(0);
    expect(cache.bytes).to.equal(0);
  });
});
