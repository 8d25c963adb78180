import type { Redis } from 'ioredis';

// Every registry score is Redis's own clock (TIME, in the primary's script),
// never a host's: a host whose clock runs ahead must not keep a dead
// chatserver alive, nor one running behind drop a live one. Scripts run on the
// primary and replicate as their effects (Redis ≥ 5), so TIME is safe in them.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Answers {now, joined}: joined is 1 when the member was absent or already
// expired, i.e. workers were not sending to it until this beat.
const BEAT_SCRIPT = `${NOW_MS}
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - tonumber(ARGV[3])))
local joined = 0
if not before or tonumber(before) <= now then joined = 1 end
return {now, joined}`;

// '(' makes the bound exclusive: an entry whose score equals now has just expired.
const LIVE_SCRIPT = `${NOW_MS}
return redis.call('ZRANGE', KEYS[1], '(' .. string.format('%d', now), '+inf', 'BYSCORE')`;

/** What one registry beat found. */
export interface RegistryBeat {
  /** Redis's clock at the beat (epoch ms). */
  readonly now: number;
  /** The member was absent or expired before this beat: workers saw it only from now on. */
  readonly joined: boolean;
}

/**
 * Adds or refreshes `member` in the registry sorted set `key`, live until
 * Redis's clock passes now + `ttlMs`, and drops entries that expired more than
 * `staleMs` ago. One script, one round trip.
 */
export async function beatRegistry(redis: Redis, key: string, member: string, ttlMs: number, staleMs: number): Promise<RegistryBeat> {
  const [now, joined] = (await redis.eval(BEAT_SCRIPT, 1, key, member, String(ttlMs), String(staleMs))) as [number, number];
  return { now: Number(now), joined: Number(joined) === 1 };
}

/** The members of the registry `key` still live by Redis's clock, in score order. */
export async function liveRegistryMembers(redis: Redis, key: string): Promise<string[]> {
  return (await redis.eval(LIVE_SCRIPT, 1, key)) as string[];
}
