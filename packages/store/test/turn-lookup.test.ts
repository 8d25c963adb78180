import { expect } from 'chai';
import { createTurnLookup } from '../src/turn-lookup.js';

describe('createTurnLookup', () => {
  it('looks up the keys asked for in one turn with one call, each distinct key once', async () => {
    const calls: string[][] = [];
    const find = createTurnLookup<string, number>({
      lookup: async (keys) => {
        calls.push(keys);
        return new Map(keys.filter((key) => key !== 'unknown').map((key) => [key, key.length]));
      },
    });
    const answers = await Promise.all(['a', 'bb', 'unknown', 'a'].map(find));
    expect(answers).to.deep.equal([1, 2, undefined, 1]);
    expect(calls).to.deep.equal([['a', 'bb', 'unknown']]);
  });

  it('starts a new lookup for keys asked in a later turn', async () => {
    const calls: string[][] = [];
    const find = createTurnLookup<string, string>({
      lookup: async (keys) => {
        calls.push(keys);
        return new Map(keys.map((key) => [key, key]));
      },
    });
    expect(await find('a')).to.equal('a');
    expect(await find('b')).to.equal('b');
    expect(calls).to.deep.equal([['a'], ['b']]);
  });

  it('splits a turn into lookups of at most maxKeys keys', async () => {
    const calls: number[][] = [];
    const find = createTurnLookup<number, number>({
      maxKeys: 2,
      lookup: async (keys) => {
        calls.push(keys);
        return new Map(keys.map((key) => [key, key * 10]));
      },
    });
    expect(await Promise.all([1, 2, 3, 4, 5].map(find))).to.deep.equal([10, 20, 30, 40, 50]);
    expect(calls).to.deep.equal([[1, 2], [3, 4], [5]]);
  });

  it('rejects every caller of a failed lookup, and the next turn looks up again', async () => {
    let fail = true;
    const find = createTurnLookup<string, string>({
      lookup: async (keys) => {
        if (fail) throw new Error('database down');
        return new Map(keys.map((key) => [key, key]));
      },
    });
    const results = await Promise.allSettled([find('a'), find('b'), find('a')]);
    expect(results.map((result) => result.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    fail = false;
    expect(await find('a')).to.equal('a');
  });
});
