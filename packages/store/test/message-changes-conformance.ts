import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { ChatEvent } from '@parley/protocol';
import type { ChatStore, SessionRecord } from '../src/chat-store.js';
import { expectChatError, T0, useStoreUnderTest, type StoreUnderTest } from './conformance-kit.js';

/**
 * The edit, delete and search guarantees of `ChatStore`, run by every
 * implementation beside `chatStoreConformance`.
 */
export function messageChangesConformance(label: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`ChatStore edits, deletions and search: ${label}`, () => {
    const current = useStoreUnderTest(makeStore);
    let store: ChatStore;
    beforeEach(() => {
      store = current();
    });

    async function sessionIn(room: string, nickname: string): Promise<SessionRecord> {
      const session = await store.createSession({ tokenHash: randomBytes(32).toString('hex'), nickname, now: T0 });
      await store.enterRoom(session.id, room, T0, 0);
      return session;
    }

    async function say(session: SessionRecord, room: string, text: string, at = T0 + 1): Promise<ChatEvent> {
      return (await store.say({ sessionId: session.id, room, text, now: at })).event;
    }

    async function history(room: string): Promise<ChatEvent[]> {
      return store.readEvents(room, { after: 0, limit: 100 });
    }

    async function snapshot(room: string): Promise<unknown> {
      return { history: await history(room), seq: await store.roomSeq(room), outbox: await store.outboxDepth() };
    }

    describe('editMessage', () => {
      it('appends an edit event with its outbox row, and history gives the message its new text and edited', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const message = await say(alice, 'lobby', 'helo');
        const outboxBefore = await store.outboxDepth();
        const result = await store.editMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, text: 'hello', now: T0 + 5 });
        expect(result.event).to.deep.equal({
          room: 'lobby', seq: message.seq + 1, type: 'edit', at: T0 + 5, nickname: 'alice', user: null, target: message.seq, text: 'hello', id: result.event.id,
        });
        expect(Object.keys(result.event)).to.deep.equal(['room', 'seq', 'type', 'at', 'nickname', 'user', 'target', 'text', 'id']);
        expect(result.events).to.deep.equal([result.event]);
        expect(result.outboxId).to.be.a('number');
        expect(await store.outboxDepth()).to.equal(outboxBefore + 1);
        const [, stored, edit] = await history('lobby');
        expect(stored).to.deep.equal({ ...message, text: 'hello', edited: true });
        expect(edit).to.deep.equal(result.event);
      });

      it('refuses another session (forbidden), a missing message or a non-message (message_not_found), a missing room; changing nothing', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        const message = await say(alice, 'lobby', 'mine');
        const before = await snapshot('lobby');
        await expectChatError(store.editMessage({ sessionId: bob.id, room: 'lobby', target: message.seq, text: 'theirs', now: T0 }), 'forbidden');
        await expectChatError(store.editMessage({ sessionId: alice.id, room: 'lobby', target: 99, text: 'x', now: T0 }), 'message_not_found');
        await expectChatError(store.editMessage({ sessionId: alice.id, room: 'lobby', target: 1, text: 'x', now: T0 }), 'message_not_found');
        await expectChatError(store.editMessage({ sessionId: alice.id, room: 'nowhere', target: 1, text: 'x', now: T0 }), 'room_not_found');
        await expectChatError(store.editMessage({ sessionId: 'no-such-session', room: 'lobby', target: message.seq, text: 'x', now: T0 }), 'unauthorized');
        expect(await snapshot('lobby')).to.deep.equal(before);
      });

      it('refuses to edit a deleted message (message_not_found)', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const message = await say(alice, 'lobby', 'soon gone');
        await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, now: T0 });
        const before = await snapshot('lobby');
        await expectChatError(store.editMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, text: 'back', now: T0 }), 'message_not_found');
        expect(await snapshot('lobby')).to.deep.equal(before);
      });
    });

    describe('deleteMessage', () => {
      it('appends a delete event, and history gives the message deleted without text, its edits without text too', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const message = await say(alice, 'lobby', 'my password is hunter2');
        await store.editMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, text: 'my password is hunter3', now: T0 + 2 });
        const result = await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, now: T0 + 3 });
        expect(result.event).to.deep.equal({
          room: 'lobby', seq: message.seq + 2, type: 'delete', at: T0 + 3, nickname: 'alice', user: null, target: message.seq, id: result.event?.id,
        });
        expect(result.events).to.deep.equal([result.event]);
        expect(result.outboxId).to.be.a('number');
        const [, stored, edit, deletion] = await history('lobby');
        expect(stored).to.deep.equal({ room: 'lobby', seq: message.seq, type: 'message', at: message.at, nickname: 'alice', user: null, deleted: true, id: message.id });
        expect(edit).to.include({ type: 'edit', target: message.seq, deleted: true });
        expect(edit).to.not.have.property('text');
        expect(deletion).to.deep.equal(result.event);
        expect(JSON.stringify(await history('lobby'))).to.not.include('hunter');
      });

      it('appends nothing when the message is deleted already', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const message = await say(alice, 'lobby', 'twice');
        await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, now: T0 });
        const before = await snapshot('lobby');
        const again = await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, now: T0 });
        expect(again).to.deep.equal({ events: [], outboxId: undefined, event: undefined });
        expect(await snapshot('lobby')).to.deep.equal(before);
      });

      it("refuses another session's message (forbidden) and a missing one (message_not_found), changing nothing", async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        const message = await say(alice, 'lobby', 'mine');
        const before = await snapshot('lobby');
        await expectChatError(store.deleteMessage({ sessionId: bob.id, room: 'lobby', target: message.seq, now: T0 }), 'forbidden');
        await expectChatError(store.deleteMessage({ sessionId: bob.id, room: 'lobby', target: 77, now: T0 }), 'message_not_found');
        await expectChatError(store.deleteMessage({ sessionId: bob.id, room: 'nowhere', target: 1, now: T0 }), 'room_not_found');
        expect(await snapshot('lobby')).to.deep.equal(before);
      });

      it("lets the room's owner (an account) delete any message of the room, but edit none but their own", async () => {
        await store.createAccount({ username: 'olga', passwordHash: 'x', nickname: 'olga', now: T0 });
        await store.createRoom({ room: 'club', visibility: 'public', owner: 'olga', now: T0 });
        const owner = await store.createSession({ tokenHash: randomBytes(32).toString('hex'), nickname: 'olga', now: T0, username: 'olga' });
        const bob = await sessionIn('club', 'bob');
        const message = await say(bob, 'club', 'spam');
        await expectChatError(store.editMessage({ sessionId: owner.id, room: 'club', target: message.seq, text: 'x', now: T0 + 2 }), 'forbidden');
        const result = await store.deleteMessage({ sessionId: owner.id, room: 'club', target: message.seq, now: T0 + 3 });
        expect(result.event).to.include({ type: 'delete', target: message.seq, nickname: 'olga', user: 'olga' });
        expect((await history('club')).find((event) => event.seq === message.seq)).to.include({ deleted: true });
        // Another account that owns nothing here may not.
        await store.createAccount({ username: 'mallory', passwordHash: 'x', nickname: 'mallory', now: T0 });
        const other = await store.createSession({ tokenHash: randomBytes(32).toString('hex'), nickname: 'mal', now: T0, username: 'mallory' });
        const second = await say(bob, 'club', 'more');
        await expectChatError(store.deleteMessage({ sessionId: other.id, room: 'club', target: second.seq, now: T0 + 4 }), 'forbidden');
      });

      it('lets the author delete after leaving the room, and keeps the seq stream gapless', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const message = await say(alice, 'lobby', 'bye');
        await store.leaveRoom(alice.id, 'lobby', T0 + 2);
        await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: message.seq, now: T0 + 3 });
        expect((await history('lobby')).map((event) => event.seq)).to.deep.equal([1, 2, 3, 4]);
      });
    });

    describe('searchMessages', () => {
      it('finds the messages holding every word (as word prefixes, any case), newest first, in that room only', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const other = await sessionIn('lobby-2', 'carol');
        const first = await say(alice, 'lobby', 'Deploying the staging server');
        await say(alice, 'lobby', 'lunch anyone?');
        const third = await say(alice, 'lobby', 'staging deploy done');
        await say(other, 'lobby-2', 'staging deploy elsewhere');
        const found = await store.searchMessages('lobby', { words: ['deploy', 'STAGING'], limit: 10 });
        expect(found.map((event) => event.seq)).to.deep.equal([third.seq, first.seq]);
        expect(found[0]).to.deep.equal(third);
        expect(await store.searchMessages('lobby', { words: ['deploy'], limit: 1 })).to.deep.equal([third]);
        expect(await store.searchMessages('lobby', { words: ['nothing'], limit: 10 })).to.deep.equal([]);
      });

      it('finds an edited message by its new text only, and a deleted one never', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const edited = await say(alice, 'lobby', 'colour');
        const deleted = await say(alice, 'lobby', 'secret colour token');
        await store.editMessage({ sessionId: alice.id, room: 'lobby', target: edited.seq, text: 'color', now: T0 });
        await store.deleteMessage({ sessionId: alice.id, room: 'lobby', target: deleted.seq, now: T0 });
        expect(await store.searchMessages('lobby', { words: ['colour'], limit: 10 })).to.deep.equal([]);
        expect(await store.searchMessages('lobby', { words: ['secret'], limit: 10 })).to.deep.equal([]);
        const found = await store.searchMessages('lobby', { words: ['color'], limit: 10 });
        expect(found).to.deep.equal([{ ...edited, text: 'color', edited: true }]);
        // The newest message was deleted: messages said after it are stored and found.
        const later = await say(alice, 'lobby', 'secret colour again');
        expect(await store.searchMessages('lobby', { words: ['secret'], limit: 10 })).to.deep.equal([later]);
      });

      it('reads query syntax as plain words and throws room_not_found for a missing room', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await say(alice, 'lobby', 'a "quoted" OR NEAR thing');
        expect(await store.searchMessages('lobby', { words: ['"quoted"*', 'or'], limit: 10 })).to.have.length(1);
        expect(await store.searchMessages('lobby', { words: ['*'], limit: 10 })).to.deep.equal([]);
        await expectChatError(store.searchMessages('nowhere', { words: ['x'], limit: 10 }), 'room_not_found');
      });
    });
  });
}
