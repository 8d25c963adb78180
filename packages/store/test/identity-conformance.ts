import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { ChatStore, SessionRecord } from '../src/chat-store.js';
import { expectChatError, T0 } from './conformance-kit.js';

/**
 * The identity part of the `ChatStore` contract: accounts, account and bot
 * sessions, private rooms and their members, kicks, direct rooms. Registered
 * inside `chatStoreConformance`, so every implementation runs it; `store()`
 * gives the fresh store of the current test.
 */
export function identityConformance(store: () => ChatStore): void {
  describe('identity', () => {
    async function account(username: string, now = T0): Promise<SessionRecord> {
      await store().createAccount({ username, passwordHash: `hash-of-${username}`, nickname: username, now });
      return store().createSession({ tokenHash: randomBytes(32).toString('hex'), nickname: username, now, username });
    }

    function guest(nickname: string): Promise<SessionRecord> {
      return store().createSession({ tokenHash: randomBytes(32).toString('hex'), nickname, now: T0 });
    }

    it('stores an account once and refuses the same username again with username_taken', async () => {
      await store().createAccount({ username: 'ana', passwordHash: 'h1', nickname: 'Ana', now: T0 });
      await expectChatError(store().createAccount({ username: 'ana', passwordHash: 'h2', nickname: 'x', now: T0 }), 'username_taken');
      expect(await store().findAccount('ana')).to.deep.equal({ username: 'ana', nickname: 'Ana', passwordHash: 'h1', createdAt: T0 });
      expect(await store().findAccount('nobody')).to.equal(undefined);
    });

    it('finds an account session with its username, and a guest session with null', async () => {
      const ana = await account('ana');
      const visitor = await guest('visitor');
      expect(ana).to.deep.include({ username: 'ana', botName: null });
      expect(visitor).to.deep.include({ username: null, botName: null });
    });

    it('writes user on every event: the account for an account, null for a guest, and bot only for bot tokens', async () => {
      const ana = await account('ana');
      const visitor = await guest('visitor');
      const bot = await store().createSession({ tokenHash: 'bot-hash', nickname: 'anabot', now: T0, username: 'ana', botName: 'ci' });
      for (const session of [ana, visitor, bot]) await store().enterRoom(session.id, 'lobby', T0, 0);
      const said = await store().say({ sessionId: bot.id, room: 'lobby', text: 'beep', now: T0 });
      expect(said.event).to.deep.include({ user: 'ana', bot: true, nickname: 'anabot' });
      const history = await store().readEvents('lobby', { after: 0, limit: 10 });
      expect(history.map((event) => [event.user, event.bot])).to.deep.equal([
        ['ana', undefined],
        [null, undefined],
        ['ana', true],
        ['ana', true],
      ]);
    });

    it("keeps in the say group's outbox row exactly the events it answered: an account's, a guest's and a bot's", async () => {
      const speakers = [await account('ana'), await guest('visitor'), await store().createSession({ tokenHash: 'bot-hash', nickname: 'anabot', now: T0, username: 'ana', botName: 'ci' })];
      for (const session of speakers) await store().enterRoom(session.id, 'lobby', T0, 0);
      const group = await store().sayMany(speakers.map((session, index) => ({ sessionId: session.id, room: 'lobby', text: `m${index}`, now: T0 })));
      expect(group.write.events.map((event) => [event.user, event.bot])).to.deep.equal([['ana', undefined], [null, undefined], ['ana', true]]);
      const claimed = await store().claimOutbox({ olderThan: T0, limit: 100, leaseMs: 1000, now: T0 });
      expect(claimed.find((row) => row.id === group.write.outboxId)?.events).to.deep.equal(group.write.events);
    });

    it('creates a private room whose owner is its first member, and refuses a second room of that name', async () => {
      await account('ana');
      expect(await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 })).to.deep.equal({
        name: 'team',
        seq: 0,
        occupants: 0,
      });
      expect(await store().roomInfo('team')).to.deep.equal({ name: 'team', visibility: 'private', owner: 'ana' });
      expect(await store().roomMembers('team')).to.deep.equal(['ana']);
      await expectChatError(store().createRoom({ room: 'team', visibility: 'public', owner: null, now: T0 }), 'room_exists');
    });

    it('tells access per room: public, missing, member, hidden', async () => {
      await account('ana');
      await account('bob');
      await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
      await store().createRoom({ room: 'open', visibility: 'public', owner: 'ana', now: T0 });
      const rooms = ['team', 'open', 'missing'];
      expect([...(await store().roomAccess(rooms, 'ana'))]).to.deep.equal([['team', 'member'], ['open', 'public'], ['missing', 'missing']]);
      expect((await store().roomAccess(rooms, 'bob')).get('team')).to.equal('hidden');
      expect((await store().roomAccess(rooms, null)).get('team')).to.equal('hidden');
    });

    it('refuses a non-member entering a private room with room_not_found and changes nothing', async () => {
      await account('ana');
      const bob = await account('bob');
      const visitor = await guest('visitor');
      await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
      await expectChatError(store().enterRoom(bob.id, 'team', T0, 10), 'room_not_found');
      await expectChatError(store().enterRoom(visitor.id, 'team', T0, 10), 'room_not_found');
      expect(await store().getRoom('team')).to.deep.equal({ name: 'team', seq: 0, occupants: [] });
      expect(await store().outboxDepth()).to.equal(0);
    });

    it('lets an added member enter; a kick removes every session of that account with one kick event', async () => {
      const ana = await account('ana');
      const bob = await account('bob');
      const bobPhone = await store().createSession({ tokenHash: 'phone', nickname: 'bobby', now: T0, username: 'bob' });
      await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
      await store().addMember('team', 'bob', T0);
      for (const session of [ana, bob, bobPhone]) await store().enterRoom(session.id, 'team', T0, 0);
      expect((await store().getRoom('team'))?.occupants).to.have.length(3);
      const kick = await store().removeMember({ room: 'team', username: 'bob', bySessionId: ana.id, now: T0 + 1 });
      expect(kick.events).to.have.length(1);
      expect(kick.events[0]).to.deep.include({ room: 'team', seq: 4, type: 'kick', nickname: 'ana', user: 'ana', target: 'bob' });
      expect(kick.outboxId).to.be.a('number');
      expect(await store().getRoom('team')).to.deep.equal({ name: 'team', seq: 4, occupants: [{ nickname: 'ana' }] });
      expect((await store().roomSummary('team'))?.occupants).to.equal(1);
      expect(await store().roomMembers('team')).to.deep.equal(['ana']);
      expect(await store().sessionRooms(bob.id)).to.deep.equal([]);
      await expectChatError(store().enterRoom(bob.id, 'team', T0 + 2, 0), 'room_not_found');
      const again = await store().removeMember({ room: 'team', username: 'bob', bySessionId: ana.id, now: T0 + 3 });
      expect(again.events).to.deep.equal([]);
      expect((await store().readEvents('team', { after: 0, limit: 10 })).at(-1)).to.deep.include({ type: 'kick', target: 'bob' });
    });

    it('refuses adding an unknown account with not_found', async () => {
      await account('ana');
      await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
      await expectChatError(store().addMember('team', 'ghost', T0), 'not_found');
      await expectChatError(store().addMember('nowhere', 'ana', T0), 'room_not_found');
    });

    it('lists public rooms and only the caller\'s own private ones', async () => {
      await account('ana');
      await account('bob');
      await store().createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
      await store().createRoom({ room: 'open', visibility: 'public', owner: null, now: T0 });
      const names = async (username: string | null) => (await store().listRooms(100, username)).map((room) => room.name);
      expect(await names('ana')).to.deep.equal(['open', 'team']);
      expect(await names('bob')).to.deep.equal(['open']);
      expect(await names(null)).to.deep.equal(['open']);
    });

    it('makes one direct room for two accounts, idempotently, with exactly those members', async () => {
      await account('ana');
      await account('bob');
      await store().ensureDirectRoom({ room: 'dm-x', a: 'ana', b: 'bob', now: T0 });
      await store().ensureDirectRoom({ room: 'dm-x', a: 'ana', b: 'bob', now: T0 + 1 });
      expect(await store().roomInfo('dm-x')).to.deep.equal({ name: 'dm-x', visibility: 'private', owner: null });
      expect((await store().roomMembers('dm-x')).sort()).to.deep.equal(['ana', 'bob']);
      await expectChatError(store().ensureDirectRoom({ room: 'dm-y', a: 'ana', b: 'ghost', now: T0 }), 'not_found');
    });

    it('lists and revokes bot tokens; a revoked token is gone and leaves its rooms; the purge never ends one', async () => {
      await account('ana');
      const bot = await store().createSession({ tokenHash: 'bot-hash', nickname: 'anabot', now: T0, username: 'ana', botName: 'ci' });
      await store().enterRoom(bot.id, 'lobby', T0, 0);
      expect(await store().listBotTokens('ana')).to.deep.equal([{ id: bot.id, name: 'ci', createdAt: T0, lastSeenAt: T0 }]);
      expect(await store().listBotTokens('bob')).to.deep.equal([]);
      expect((await store().purgeIdleSessions({ idleSince: T0 + 10_000_000, limit: 10, now: T0 + 10_000_000 })).ended).to.equal(1);
      expect(await store().findSession('bot-hash', T0)).to.not.equal(undefined);
      expect(await store().revokeBotToken('bob', bot.id, T0 + 1)).to.equal(undefined);
      const revoked = await store().revokeBotToken('ana', bot.id, T0 + 1);
      expect(revoked?.tokenHash).to.equal('bot-hash');
      expect(revoked?.write.events.map((event) => event.type)).to.deep.equal(['leave']);
      expect(await store().findSession('bot-hash', T0 + 2)).to.equal(undefined);
      expect(await store().listBotTokens('ana')).to.deep.equal([]);
    });
  });
}
