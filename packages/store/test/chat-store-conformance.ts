import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ChatError, isLiveMessage, type ChatEvent } from '@parley/protocol';
import type { ChatStore, SessionRecord } from '../src/chat-store.js';
import { expectChatError, T0, useStoreUnderTest, type StoreUnderTest } from './conformance-kit.js';
import { identityConformance } from './identity-conformance.js';

export type { StoreUnderTest } from './conformance-kit.js';

const MINUTE = 60_000;

const MESSAGE_KEYS = ['room', 'seq', 'type', 'at', 'nickname', 'user', 'text', 'id'];
const PRESENCE_KEYS = ['room', 'seq', 'type', 'at', 'nickname', 'user', 'id'];
const NICK_KEYS = ['room', 'seq', 'type', 'at', 'from', 'nickname', 'user', 'id'];

function seqsOf(events: ChatEvent[]): number[] {
  return events.map((event) => event.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/**
 * Registers the guarantees of `ChatStore` as one mocha `describe`. Every
 * implementation (SQLite today, PostgreSQL later) runs it with a factory that
 * returns a fresh, empty store per test.
 */
export function chatStoreConformance(label: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`ChatStore conformance: ${label}`, () => {
    const current = useStoreUnderTest(makeStore);
    let store: ChatStore;
    beforeEach(() => {
      store = current();
    });

    function newSession(nickname: string, now = T0): Promise<SessionRecord> {
      return store.createSession({ tokenHash: randomBytes(32).toString('hex'), nickname, now });
    }

    async function sessionIn(room: string, nickname: string, now = T0): Promise<SessionRecord> {
      const session = await newSession(nickname, now);
      await store.enterRoom(session.id, room, now, 0);
      return session;
    }

    async function sayMany(session: SessionRecord, room: string, count: number): Promise<ChatEvent[]> {
      const events: ChatEvent[] = [];
      for (let index = 0; index < count; index++) {
        const result = await store.say({ sessionId: session.id, room, text: `message ${index}`, now: T0 + index });
        events.push(result.event);
      }
      return events;
    }

    /** Room seqs and outbox depth, to show that a refused write changed nothing. */
    async function snapshot(rooms: string[]): Promise<unknown> {
      const seqs = await Promise.all(rooms.map((room) => store.roomSeq(room)));
      return { seqs, depth: await store.outboxDepth() };
    }

    describe('sessions', () => {
      it('finds a created session by its token hash', async () => {
        const created = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        expect(await store.findSession('hash-a', T0)).to.deep.equal(created);
        expect(created).to.deep.include({ nickname: 'alice', createdAt: T0, lastSeenAt: T0 });
      });

      it('gives every session its own id', async () => {
        const first = await newSession('alice');
        const second = await newSession('alice');
        expect(first.id).to.be.a('string').and.not.equal(second.id);
      });

      it('returns undefined for an unknown token hash', async () => {
        expect(await store.findSession('no-such-hash', T0)).to.equal(undefined);
      });

      it('answers every lookup of one turn with its own session, the same token twice and an unknown one included', async () => {
        const alice = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        const bob = await store.createSession({ tokenHash: 'hash-b', nickname: 'bob', now: T0 });
        const found = await Promise.all(['hash-b', 'no-such-hash', 'hash-a', 'hash-b'].map((hash) => store.findSession(hash, T0)));
        expect(found).to.deep.equal([bob, undefined, alice, bob]);
      });

      it('keeps lastSeenAt when the session was seen less than a minute ago', async () => {
        await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        expect((await store.findSession('hash-a', T0 + 30_000))?.lastSeenAt).to.equal(T0);
        expect((await store.findSession('hash-a', T0 + MINUTE))?.lastSeenAt).to.equal(T0);
      });

      it('refreshes lastSeenAt durably when it is over a minute old', async () => {
        await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        expect((await store.findSession('hash-a', T0 + MINUTE + 1))?.lastSeenAt).to.equal(T0 + MINUTE + 1);
        expect((await store.findSession('hash-a', T0 + MINUTE + 2))?.lastSeenAt).to.equal(T0 + MINUTE + 1);
      });

      it('does not refresh a session idle longer than maxIdleMs, so it stays expired', async () => {
        await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        expect((await store.findSession('hash-a', T0 + 10 * MINUTE, 5 * MINUTE))?.lastSeenAt).to.equal(T0);
        expect((await store.findSession('hash-a', T0 + 11 * MINUTE, 5 * MINUTE))?.lastSeenAt).to.equal(T0);
        expect((await store.findSession('hash-a', T0 + 4 * MINUTE, 5 * MINUTE))?.lastSeenAt).to.equal(T0 + 4 * MINUTE);
      });

      it('lists the rooms of a session alphabetically', async () => {
        const alice = await newSession('alice');
        for (const room of ['dev', 'lobby', 'attic']) await store.enterRoom(alice.id, room, T0, 0);
        expect(await store.sessionRooms(alice.id)).to.deep.equal(['attic', 'dev', 'lobby']);
      });
    });

    describe('enterRoom', () => {
      it('creates the room on first use with an enter event at seq 1', async () => {
        const alice = await newSession('alice');
        const result = await store.enterRoom(alice.id, 'lobby', T0 + 5, 50);
        expect(result.events).to.have.length(1);
        expect(result.events[0]).to.deep.include({ room: 'lobby', seq: 1, type: 'enter', at: T0 + 5, nickname: 'alice' });
        expect(await store.roomSeq('lobby')).to.equal(1);
      });

      it('builds the enter event with exactly its keys in wire order', async () => {
        const alice = await newSession('alice');
        const { events } = await store.enterRoom(alice.id, 'lobby', T0, 50);
        expect(Object.keys(events[0] ?? {})).to.deep.equal(PRESENCE_KEYS);
        expect(events[0]?.id).to.be.a('string').with.length.greaterThan(10);
      });

      it('answers with the room after the write and its latest events ascending', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await sayMany(alice, 'lobby', 4);
        const bob = await newSession('bob');
        const result = await store.enterRoom(bob.id, 'lobby', T0 + 10, 3);
        expect(result.room).to.deep.equal({ name: 'lobby', seq: 6, occupants: [{ nickname: 'alice' }, { nickname: 'bob' }] });
        expect(seqsOf(result.recent)).to.deep.equal([4, 5, 6]);
        expect(result.recent[2]).to.deep.equal(result.events[0]);
      });

      it('appends nothing when the session is already in the room', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const before = await snapshot(['lobby']);
        const again = await store.enterRoom(alice.id, 'lobby', T0 + 1, 50);
        expect(again.events).to.deep.equal([]);
        expect(again.outboxId).to.equal(undefined);
        expect(again.room.occupants).to.deep.equal([{ nickname: 'alice' }]);
        expect(seqsOf(again.recent)).to.deep.equal([1]);
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('refuses an unknown session with unauthorized and creates no room', async () => {
        const depth = await store.outboxDepth();
        await expectChatError(store.enterRoom('no-such-session', 'lobby', T0, 50), 'unauthorized');
        expect(await store.roomSeq('lobby')).to.equal(undefined);
        expect(await store.outboxDepth()).to.equal(depth);
      });
    });

    describe('say', () => {
      it('numbers the events of a room 1..n without gaps', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        await sayMany(alice, 'lobby', 5);
        await sayMany(bob, 'lobby', 5);
        const events = await store.readEvents('lobby', { after: 0, limit: 100 });
        expect(seqsOf(events)).to.deep.equal(range(1, 12));
        expect(await store.roomSeq('lobby')).to.equal(12);
      });

      it('keeps a separate sequence per room', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.enterRoom(alice.id, 'dev', T0, 0);
        await sayMany(alice, 'lobby', 3);
        const inDev = await store.say({ sessionId: alice.id, room: 'dev', text: 'hello dev', now: T0 });
        expect(inDev.event.seq).to.equal(2);
        expect(await store.roomSeq('lobby')).to.equal(4);
      });

      it('builds the message event with exactly its keys in wire order', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const { event } = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', now: T0 + 7 });
        expect(Object.keys(event)).to.deep.equal(MESSAGE_KEYS);
        expect(event).to.deep.include({ room: 'lobby', seq: 2, type: 'message', at: T0 + 7, nickname: 'alice', text: 'hi' });
      });

      it('reads back the message exactly as it was returned', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const { event } = await store.say({ sessionId: alice.id, room: 'lobby', text: 'line 1\nline 2 ✓', now: T0 });
        const [stored] = await store.readEvents('lobby', { after: 1, limit: 1 });
        expect(stored).to.deep.equal(event);
        expect(Object.keys(stored ?? {})).to.deep.equal(MESSAGE_KEYS);
      });

      it('writes one outbox row holding exactly the events of the write', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const result = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', now: T0 });
        expect(result.duplicate).to.equal(false);
        expect(result.events).to.deep.equal([result.event]);
        expect(result.outboxId).to.be.a('number');
        const claimed = await store.claimOutbox({ olderThan: T0, limit: 100, leaseMs: 1000, now: T0 });
        const row = claimed.find((entry) => entry.id === result.outboxId);
        expect(row?.events).to.deep.equal([result.event]);
        expect(row?.createdAt).to.equal(T0);
      });

      it('returns the first event with duplicate true when a clientId is repeated', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const first = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        const before = await snapshot(['lobby']);
        const again = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 + 9 });
        expect(again).to.deep.equal({ event: first.event, duplicate: true, events: [], outboxId: undefined });
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('answers a repeated clientId even after the session left the room', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const first = await store.say({ sessionId: alice.id, room: 'lobby', text: 'bye', clientId: 'c-1', now: T0 });
        await store.leaveRoom(alice.id, 'lobby', T0 + 1);
        const again = await store.say({ sessionId: alice.id, room: 'lobby', text: 'bye', clientId: 'c-1', now: T0 + 2 });
        expect(again.duplicate).to.equal(true);
        expect(again.event).to.deep.equal(first.event);
      });

      it('lets two sessions use the same clientId independently', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        const fromAlice = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        const fromBob = await store.say({ sessionId: bob.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        expect(fromBob.duplicate).to.equal(false);
        expect(fromBob.event.seq).to.equal(fromAlice.event.seq + 1);
      });

      it('refuses a reused clientId with a different text as client_id_conflict and changes nothing', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        const before = await snapshot(['lobby']);
        await expectChatError(
          store.say({ sessionId: alice.id, room: 'lobby', text: 'hello', clientId: 'c-1', now: T0 }),
          'client_id_conflict',
        );
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('refuses a reused clientId in another room as client_id_conflict and changes nothing', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.enterRoom(alice.id, 'dev', T0, 0);
        await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        const before = await snapshot(['lobby', 'dev']);
        await expectChatError(
          store.say({ sessionId: alice.id, room: 'dev', text: 'hi', clientId: 'c-1', now: T0 }),
          'client_id_conflict',
        );
        expect(await snapshot(['lobby', 'dev'])).to.deep.equal(before);
      });

      it('refuses a say in an unknown room with room_not_found and creates nothing', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const before = await snapshot(['lobby', 'nowhere']);
        await expectChatError(store.say({ sessionId: alice.id, room: 'nowhere', text: 'hi', now: T0 }), 'room_not_found');
        expect(await snapshot(['lobby', 'nowhere'])).to.deep.equal(before);
      });

      it('refuses a say by a session outside the room with not_in_room and changes nothing', async () => {
        await sessionIn('lobby', 'alice');
        const bob = await newSession('bob');
        const before = await snapshot(['lobby']);
        await expectChatError(
          store.say({ sessionId: bob.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 }),
          'not_in_room',
        );
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('refuses a say by an unknown session and changes nothing', async () => {
        await sessionIn('lobby', 'alice');
        const before = await snapshot(['lobby']);
        // An unknown session is in no room; either refusal is a correct answer.
        await expectChatError(store.say({ sessionId: 'no-such-session', room: 'lobby', text: 'hi', now: T0 }), [
          'not_in_room',
          'unauthorized',
        ]);
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('accepts the clientId of a refused say later', async () => {
        const alice = await newSession('alice');
        await store.enterRoom(alice.id, 'dev', T0, 0);
        await store.enterRoom((await newSession('bob')).id, 'lobby', T0, 0);
        await expectChatError(store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 }), 'not_in_room');
        await store.enterRoom(alice.id, 'lobby', T0, 0);
        const result = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        expect(result.duplicate).to.equal(false);
      });
    });

    describe('sayMany (group commit)', () => {
      it('appends the says of a group in order, with the seqs they would get one by one', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.enterRoom(alice.id, 'dev', T0, 0);
        const group = await store.sayMany([
          { sessionId: alice.id, room: 'lobby', text: 'one', now: T0 + 1 },
          { sessionId: alice.id, room: 'dev', text: 'two', now: T0 + 2 },
          { sessionId: alice.id, room: 'lobby', text: 'three', now: T0 + 3 },
        ]);
        const events = group.outcomes.map((outcome) => (outcome.ok ? outcome.result.event : undefined));
        expect(events.map((event) => [event?.room, event?.seq, event !== undefined && isLiveMessage(event) ? event.text : ''])).to.deep.equal([
          ['lobby', 2, 'one'],
          ['dev', 2, 'two'],
          ['lobby', 3, 'three'],
        ]);
        expect(await store.readEvents('lobby', { after: 1, limit: 10 })).to.deep.equal([events[0], events[2]]);
        expect(Object.keys(events[0] ?? {})).to.deep.equal(MESSAGE_KEYS);
      });

      it('writes ONE outbox row holding every event of the group and none per say', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const depthBefore = await store.outboxDepth();
        const group = await store.sayMany([
          { sessionId: alice.id, room: 'lobby', text: 'a', now: T0 },
          { sessionId: alice.id, room: 'lobby', text: 'b', now: T0 },
        ]);
        expect(await store.outboxDepth()).to.equal(depthBefore + 1);
        const results = group.outcomes.map((outcome) => (outcome.ok ? outcome.result : undefined));
        expect(results.map((result) => [result?.outboxId, result?.events.length])).to.deep.equal([
          [undefined, 0],
          [undefined, 0],
        ]);
        expect(group.write.events).to.deep.equal(results.map((result) => result?.event));
        const claimed = await store.claimOutbox({ olderThan: T0, limit: 100, leaseMs: 1000, now: T0 });
        expect(claimed.find((row) => row.id === group.write.outboxId)?.events).to.deep.equal(group.write.events);
      });

      it('refuses one say of a group with its own error and still commits the others', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await newSession('bob');
        const group = await store.sayMany([
          { sessionId: alice.id, room: 'lobby', text: 'before', now: T0 },
          { sessionId: bob.id, room: 'lobby', text: 'refused', clientId: 'c-1', now: T0 },
          { sessionId: alice.id, room: 'nowhere', text: 'refused too', now: T0 },
          { sessionId: alice.id, room: 'lobby', text: 'after', now: T0 },
        ]);
        const codes = group.outcomes.map((outcome) => (outcome.ok ? outcome.result.event.seq : (outcome.error as ChatError).code));
        expect(codes).to.deep.equal([2, 'not_in_room', 'room_not_found', 3]);
        expect(group.write.events.map((event) => event.seq)).to.deep.equal([2, 3]);
        expect(await store.roomSeq('nowhere')).to.equal(undefined);
        // The refused clientId was not recorded.
        await store.enterRoom(bob.id, 'lobby', T0, 0);
        const retried = await store.say({ sessionId: bob.id, room: 'lobby', text: 'refused', clientId: 'c-1', now: T0 });
        expect(retried.duplicate).to.equal(false);
      });

      it('answers a clientId repeated within the group, or said before it, as a duplicate of the first', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const earlier = await store.say({ sessionId: alice.id, room: 'lobby', text: 'old', clientId: 'c-0', now: T0 });
        const group = await store.sayMany([
          { sessionId: alice.id, room: 'lobby', text: 'new', clientId: 'c-1', now: T0 },
          { sessionId: alice.id, room: 'lobby', text: 'new', clientId: 'c-1', now: T0 },
          { sessionId: alice.id, room: 'lobby', text: 'old', clientId: 'c-0', now: T0 },
          { sessionId: alice.id, room: 'lobby', text: 'changed', clientId: 'c-1', now: T0 },
        ]);
        const [first, repeat, old, conflict] = group.outcomes;
        expect(first?.ok && first.result.duplicate).to.equal(false);
        expect(repeat?.ok && repeat.result).to.deep.include({ duplicate: true });
        expect(repeat?.ok && repeat.result.event).to.deep.equal(first?.ok && first.result.event);
        expect(old?.ok && old.result.event).to.deep.equal(earlier.event);
        expect(conflict?.ok === false && (conflict.error as ChatError).code).to.equal('client_id_conflict');
        expect(group.write.events).to.have.length(1);
        expect(await store.roomSeq('lobby')).to.equal(3);
      });

      it('writes no outbox row when every say of the group is refused or a duplicate', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 });
        const before = await snapshot(['lobby']);
        const group = await store.sayMany([
          { sessionId: alice.id, room: 'lobby', text: 'hi', clientId: 'c-1', now: T0 },
          { sessionId: alice.id, room: 'nowhere', text: 'hi', now: T0 },
        ]);
        expect(group.write).to.deep.equal({ events: [], outboxId: undefined });
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('resolves an empty group with nothing written', async () => {
        expect(await store.sayMany([])).to.deep.equal({ outcomes: [], write: { events: [], outboxId: undefined } });
      });
    });

    describe('leaveRoom', () => {
      it('appends a leave event with exactly its keys and removes the occupant', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await sessionIn('lobby', 'bob');
        const result = await store.leaveRoom(alice.id, 'lobby', T0 + 3);
        expect(result.events).to.have.length(1);
        expect(Object.keys(result.events[0] ?? {})).to.deep.equal(PRESENCE_KEYS);
        expect(result.events[0]).to.deep.include({ room: 'lobby', seq: 3, type: 'leave', at: T0 + 3, nickname: 'alice' });
        expect(result.outboxId).to.be.a('number');
        expect((await store.getRoom('lobby'))?.occupants).to.deep.equal([{ nickname: 'bob' }]);
        expect(await store.sessionRooms(alice.id)).to.deep.equal([]);
      });

      it('appends nothing when the session is not in the room', async () => {
        await sessionIn('lobby', 'alice');
        const bob = await newSession('bob');
        const before = await snapshot(['lobby']);
        expect(await store.leaveRoom(bob.id, 'lobby', T0)).to.deep.equal({ events: [], outboxId: undefined });
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('refuses an unknown room with room_not_found and creates nothing', async () => {
        const alice = await newSession('alice');
        const depth = await store.outboxDepth();
        await expectChatError(store.leaveRoom(alice.id, 'nowhere', T0), 'room_not_found');
        expect(await store.roomSeq('nowhere')).to.equal(undefined);
        expect(await store.outboxDepth()).to.equal(depth);
      });
    });

    describe('changeNickname', () => {
      it('appends a nick event in every room of the session, alphabetically, in one outbox row', async () => {
        const alice = await newSession('alice');
        for (const room of ['lobby', 'dev']) await store.enterRoom(alice.id, room, T0, 0);
        const depth = await store.outboxDepth();
        const result = await store.changeNickname(alice.id, 'alicia', T0 + 4);
        expect(result.events.map((event) => [event.room, event.seq, event.type])).to.deep.equal([
          ['dev', 2, 'nick'],
          ['lobby', 2, 'nick'],
        ]);
        expect(await store.outboxDepth()).to.equal(depth + 1);
        const [row] = await store.claimOutbox({ olderThan: T0 + 4, limit: 100, leaseMs: 1000, now: T0 + 4 }).then((rows) =>
          rows.filter((entry) => entry.id === result.outboxId),
        );
        expect(row?.events).to.deep.equal(result.events);
      });

      it('builds the nick event with exactly its keys in wire order', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const { events } = await store.changeNickname(alice.id, 'alicia', T0 + 4);
        expect(Object.keys(events[0] ?? {})).to.deep.equal(NICK_KEYS);
        expect(events[0]).to.deep.include({ type: 'nick', at: T0 + 4, from: 'alice', nickname: 'alicia' });
      });

      it('appends nothing when the nickname stays the same', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const before = await snapshot(['lobby']);
        expect(await store.changeNickname(alice.id, 'alice', T0)).to.deep.equal({ events: [], outboxId: undefined });
        expect(await snapshot(['lobby'])).to.deep.equal(before);
      });

      it('changes the nickname of a session that is in no room without events', async () => {
        const created = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        const depth = await store.outboxDepth();
        expect(await store.changeNickname(created.id, 'alicia', T0)).to.deep.equal({ events: [], outboxId: undefined });
        expect((await store.findSession('hash-a', T0))?.nickname).to.equal('alicia');
        expect(await store.outboxDepth()).to.equal(depth);
      });

      it('signs later messages and the occupant list with the new nickname', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.changeNickname(alice.id, 'alicia', T0);
        const { event } = await store.say({ sessionId: alice.id, room: 'lobby', text: 'hi', now: T0 });
        expect(event.nickname).to.equal('alicia');
        expect((await store.getRoom('lobby'))?.occupants).to.deep.equal([{ nickname: 'alicia' }]);
      });

      it('refuses an unknown session with unauthorized', async () => {
        const depth = await store.outboxDepth();
        await expectChatError(store.changeNickname('no-such-session', 'bob', T0), 'unauthorized');
        expect(await store.outboxDepth()).to.equal(depth);
      });
    });

    describe('deleteSession', () => {
      it('leaves every room with one leave event each, in one outbox row', async () => {
        const alice = await newSession('alice');
        for (const room of ['lobby', 'dev']) await store.enterRoom(alice.id, room, T0, 0);
        const depth = await store.outboxDepth();
        const result = await store.deleteSession(alice.id, T0 + 8);
        expect(result.events.map((event) => [event.room, event.seq, event.type, event.at])).to.deep.equal([
          ['dev', 2, 'leave', T0 + 8],
          ['lobby', 2, 'leave', T0 + 8],
        ]);
        expect(result.outboxId).to.be.a('number');
        expect(await store.outboxDepth()).to.equal(depth + 1);
      });

      it('forgets the session and its memberships', async () => {
        const alice = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: T0 });
        await store.enterRoom(alice.id, 'lobby', T0, 0);
        await store.deleteSession(alice.id, T0);
        expect(await store.findSession('hash-a', T0)).to.equal(undefined);
        expect(await store.sessionRooms(alice.id)).to.deep.equal([]);
        expect((await store.getRoom('lobby'))?.occupants).to.deep.equal([]);
      });

      it('keeps the messages of a deleted session in the history', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await sayMany(alice, 'lobby', 2);
        await store.deleteSession(alice.id, T0);
        const events = await store.readEvents('lobby', { after: 0, limit: 10 });
        expect(events.map((event) => event.type)).to.deep.equal(['enter', 'message', 'message', 'leave']);
      });

      it('appends nothing for an unknown session', async () => {
        const depth = await store.outboxDepth();
        expect(await store.deleteSession('no-such-session', T0)).to.deep.equal({ events: [], outboxId: undefined });
        expect(await store.outboxDepth()).to.equal(depth);
      });
    });

    describe('purgeIdleSessions', () => {
      it('ends exactly the sessions last seen before idleSince, with their leave events', async () => {
        const idle = await store.createSession({ tokenHash: 'hash-idle', nickname: 'idle', now: T0 });
        await store.enterRoom(idle.id, 'lobby', T0, 0);
        const lonely = await store.createSession({ tokenHash: 'hash-lonely', nickname: 'lonely', now: T0 });
        const active = await store.createSession({ tokenHash: 'hash-active', nickname: 'active', now: T0 + 10 * MINUTE });
        await store.enterRoom(active.id, 'lobby', T0 + 10 * MINUTE, 0);
        const { ended, writes } = await store.purgeIdleSessions({ idleSince: T0 + 5 * MINUTE, limit: 100, now: T0 + 20 * MINUTE });
        expect(ended).to.equal(2);
        expect(writes.flatMap((write) => write.events).map((event) => `${event.type}:${event.nickname}@${event.room}`)).to.deep.equal([
          'leave:idle@lobby',
        ]);
        expect(writes[0]?.outboxId).to.be.a('number');
        expect(await store.findSession('hash-idle', T0 + 20 * MINUTE)).to.equal(undefined);
        expect(await store.findSession('hash-lonely', T0 + 20 * MINUTE)).to.equal(undefined);
        expect((await store.findSession('hash-active', T0 + 10 * MINUTE))?.id).to.equal(active.id);
        expect((await store.getRoom('lobby'))?.occupants).to.deep.equal([{ nickname: 'active' }]);
        expect(lonely.id).to.be.a('string');
      });

      it('ends at most limit sessions per call, oldest first, and nothing when none is idle', async () => {
        for (let index = 0; index < 3; index++) {
          await store.createSession({ tokenHash: `hash-${index}`, nickname: `s${index}`, now: T0 + index });
        }
        expect((await store.purgeIdleSessions({ idleSince: T0 + MINUTE, limit: 2, now: T0 + MINUTE })).ended).to.equal(2);
        expect(await store.findSession('hash-0', T0)).to.equal(undefined);
        expect(await store.findSession('hash-1', T0)).to.equal(undefined);
        expect(await store.findSession('hash-2', T0)).to.not.equal(undefined);
        const depth = await store.outboxDepth();
        expect(await store.purgeIdleSessions({ idleSince: T0, limit: 10, now: T0 + MINUTE })).to.deep.equal({ ended: 0, writes: [] });
        expect(await store.outboxDepth()).to.equal(depth);
      });
    });

    describe('rooms', () => {
      it('counts occupants through enter, leave and deleteSession', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        await sessionIn('lobby', 'carol');
        await store.enterRoom(alice.id, 'lobby', T0, 0);
        expect((await store.listRooms(10))[0]?.occupants).to.equal(3);
        await store.leaveRoom(alice.id, 'lobby', T0);
        await store.leaveRoom(alice.id, 'lobby', T0);
        expect((await store.listRooms(10))[0]?.occupants).to.equal(2);
        await store.deleteSession(bob.id, T0);
        expect(await store.listRooms(10)).to.deep.equal([{ name: 'lobby', seq: 5, occupants: 1 }]);
      });

      it('lists rooms by occupants descending, then by name, at most limit', async () => {
        await sessionIn('quiet', 'alice');
        for (const nickname of ['a', 'b']) await sessionIn('busy', nickname);
        await sessionIn('also-quiet', 'carol');
        const emptied = await sessionIn('empty', 'dave');
        await store.leaveRoom(emptied.id, 'empty', T0);
        expect((await store.listRooms(10)).map((room) => [room.name, room.occupants])).to.deep.equal([
          ['busy', 2],
          ['also-quiet', 1],
          ['quiet', 1],
          ['empty', 0],
        ]);
        expect((await store.listRooms(2)).map((room) => room.name)).to.deep.equal(['busy', 'also-quiet']);
      });

      it('lists occupants in the order they entered', async () => {
        await sessionIn('lobby', 'zed', T0);
        await sessionIn('lobby', 'amy', T0 + 1);
        await sessionIn('lobby', 'max', T0 + 2);
        expect(await store.getRoom('lobby')).to.deep.equal({
          name: 'lobby',
          seq: 3,
          occupants: [{ nickname: 'zed' }, { nickname: 'amy' }, { nickname: 'max' }],
        });
      });

      it('returns undefined for a room that does not exist', async () => {
        expect(await store.getRoom('nowhere')).to.equal(undefined);
        expect(await store.roomSeq('nowhere')).to.equal(undefined);
      });

      it('reports the head seq of a room', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await sayMany(alice, 'lobby', 3);
        expect(await store.roomSeq('lobby')).to.equal(4);
      });

      it('reads the heads of several rooms at once, leaving out rooms that do not exist', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await store.enterRoom(alice.id, 'dev', T0, 0);
        await sayMany(alice, 'lobby', 2);
        const heads = await store.roomHeads(['dev', 'nowhere', 'lobby']);
        expect([...heads.entries()].sort()).to.deep.equal([
          ['dev', 1],
          ['lobby', 3],
        ]);
        expect((await store.roomHeads([])).size).to.equal(0);
        expect(await store.roomSeq('nowhere')).to.equal(undefined);
      });

      it('summarises a room as its name, head seq and occupant count', async () => {
        const alice = await sessionIn('lobby', 'alice');
        await sessionIn('lobby', 'bob');
        await sayMany(alice, 'lobby', 2);
        expect(await store.roomSummary('lobby')).to.deep.equal({ name: 'lobby', seq: 4, occupants: 2 });
      });

      it('keeps the summary count in step with enter, leave and deleteSession', async () => {
        const alice = await sessionIn('lobby', 'alice');
        const bob = await sessionIn('lobby', 'bob');
        await store.enterRoom(alice.id, 'lobby', T0, 0);
        expect((await store.roomSummary('lobby'))?.occupants).to.equal(2);
        await store.leaveRoom(alice.id, 'lobby', T0);
        expect((await store.roomSummary('lobby'))?.occupants).to.equal(1);
        await store.deleteSession(bob.id, T0);
        expect(await store.roomSummary('lobby')).to.deep.equal({ name: 'lobby', seq: 4, occupants: 0 });
      });

      it('returns no summary for a room that does not exist, and creates none', async () => {
        expect(await store.roomSummary('nowhere')).to.equal(undefined);
        expect(await store.listRooms(10)).to.deep.equal([]);
      });
    });

    describe('readEvents', () => {
      async function roomWith(count: number): Promise<void> {
        const alice = await sessionIn('lobby', 'alice');
        await sayMany(alice, 'lobby', count - 1);
      }

      it('pages forward with after, ascending', async () => {
        await roomWith(10);
        expect(seqsOf(await store.readEvents('lobby', { after: 3, limit: 4 }))).to.deep.equal([4, 5, 6, 7]);
        expect(seqsOf(await store.readEvents('lobby', { after: 8, limit: 4 }))).to.deep.equal([9, 10]);
        expect(await store.readEvents('lobby', { after: 10, limit: 4 })).to.deep.equal([]);
      });

      it('pages backward with before, returning the nearest events ascending', async () => {
        await roomWith(10);
        expect(seqsOf(await store.readEvents('lobby', { before: 8, limit: 3 }))).to.deep.equal([5, 6, 7]);
        expect(seqsOf(await store.readEvents('lobby', { before: 3, limit: 5 }))).to.deep.equal([1, 2]);
        expect(await store.readEvents('lobby', { before: 1, limit: 5 })).to.deep.equal([]);
      });

      it('returns the latest limit events ascending', async () => {
        await roomWith(10);
        expect(seqsOf(await store.readEvents('lobby', { latest: true, limit: 3 }))).to.deep.equal([8, 9, 10]);
        expect(seqsOf(await store.readEvents('lobby', { latest: true, limit: 50 }))).to.deep.equal(range(1, 10));
      });

      it('walks the whole history backwards without a gap or a repeat', async () => {
        await roomWith(23);
        const seen: number[] = [];
        let page = await store.readEvents('lobby', { latest: true, limit: 5 });
        while (page.length > 0) {
          seen.unshift(...seqsOf(page));
          page = await store.readEvents('lobby', { before: page[0]?.seq ?? 0, limit: 5 });
        }
        expect(seen).to.deep.equal(range(1, 23));
      });

      it('refuses an unknown room with room_not_found', async () => {
        await expectChatError(store.readEvents('nowhere', { after: 0, limit: 10 }), 'room_not_found');
        await expectChatError(store.readEvents('nowhere', { latest: true, limit: 10 }), 'room_not_found');
      });
    });

    describe('outbox', () => {
      async function writesAt(times: number[]): Promise<number[]> {
        const alice = await newSession('alice', times[0]);
        const ids: number[] = [];
        for (const [index, now] of times.entries()) {
          const result = await store.enterRoom(alice.id, `room-${index}`, now, 0);
          if (result.outboxId === undefined) throw new Error('enter wrote no outbox row');
          ids.push(result.outboxId);
        }
        return ids;
      }

      it('counts the rows not yet acknowledged', async () => {
        const ids = await writesAt([T0, T0 + 1, T0 + 2]);
        expect(await store.outboxDepth()).to.equal(3);
        await store.acknowledgeOutbox([ids[1] ?? -1]);
        expect(await store.outboxDepth()).to.equal(2);
      });

      it('claims rows created at or before olderThan, oldest first, at most limit', async () => {
        const ids = await writesAt([T0, T0 + 10, T0 + 20, T0 + 30]);
        const claimed = await store.claimOutbox({ olderThan: T0 + 20, limit: 2, leaseMs: 1000, now: T0 + 100 });
        expect(claimed.map((entry) => entry.id)).to.deep.equal(ids.slice(0, 2));
        const rest = await store.claimOutbox({ olderThan: T0 + 20, limit: 10, leaseMs: 1000, now: T0 + 100 });
        expect(rest.map((entry) => entry.id)).to.deep.equal([ids[2]]);
      });

      it('does not hand out a claimed row again while its lease runs', async () => {
        await writesAt([T0]);
        expect(await store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 1000, now: T0 + 100 })).to.have.length(1);
        expect(await store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 1000, now: T0 + 1099 })).to.deep.equal([]);
      });

      it('hands a row out again once its lease has expired', async () => {
        const [id] = await writesAt([T0]);
        await store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 1000, now: T0 + 100 });
        const again = await store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 1000, now: T0 + 1100 });
        expect(again.map((entry) => entry.id)).to.deep.equal([id]);
      });

      it('never hands out an acknowledged row and ignores unknown ids', async () => {
        const ids = await writesAt([T0, T0 + 1]);
        await store.acknowledgeOutbox([ids[0] ?? -1, 999_999]);
        await store.acknowledgeOutbox([]);
        const claimed = await store.claimOutbox({ olderThan: T0 + 1, limit: 10, leaseMs: 0, now: T0 + 2 });
        expect(claimed.map((entry) => entry.id)).to.deep.equal([ids[1]]);
      });
    });
    identityConformance(() => store);
  });
}
