import { expect } from 'chai';
import type { ChatStore } from '../../src/index.js';

/**
 * Checks, on a store just migrated from a schema without search, that the old
 * message (lobby seq 2, id e2, "old searchable words" by alice in session s1)
 * is found by search, and leaves the index once edited and then deleted.
 */
export async function expectMigratedMessageSearchable(store: ChatStore): Promise<void> {
  const [found] = await store.searchMessages('lobby', { words: ['searchable'], limit: 5 });
  expect(found).to.deep.equal({ room: 'lobby', seq: 2, type: 'message', at: 2, nickname: 'alice', user: null, text: 'old searchable words', id: 'e2' });
  await store.editMessage({ sessionId: 's1', room: 'lobby', target: 2, text: 'new words', now: 3 });
  expect(await store.searchMessages('lobby', { words: ['searchable'], limit: 5 })).to.deep.equal([]);
  await store.deleteMessage({ sessionId: 's1', room: 'lobby', target: 2, now: 4 });
  expect(await store.searchMessages('lobby', { words: ['words'], limit: 5 })).to.deep.equal([]);
  expect((await store.readEvents('lobby', { after: 0, limit: 10 })).map((event) => event.type)).to.deep.equal([
    'enter', 'message', 'edit', 'delete',
  ]);
}
