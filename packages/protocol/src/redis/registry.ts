import type { Redis } from 'ioredis';

// Every registry score is Redis's own clock (TIME, in the primary's script),
// never a host's: a host whose clock runs ahead must not keep a dead
// chatserver alive, nor one running behind drop a live one. Scripts run on the
// primary and replicate as their effects (Redis ≥ 5), so TIME is safe in them.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const BEAT_SCRIPT = `${NOW_MS}
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - tonumber(ARGV[3])))
return now`;

// '(' makes the bound exclusive: an entry whose score equals now has just expired.
const LIVE_SCRIPT = `${NOW_MS}
return redis.call('ZRANGE', KEYS[1], '(' .. string.format('%d', now), '+inf', 'BYSCORE')`;

/**
 * Adds or refreshes `member` in the registry sorted set `key`, live until
 * Redis's clock passes now + `ttlMs`, and drops entries that expired more than
 * `staleMs` ago. One script, one round trip; answers Redis's now (epoch ms).
 */
export async function beatRegistry(redis: Redis, key: string, member: string, ttlMs: number, staleMs: number): Promise<number> {
  return Number(await redis.eval(BEAT_SCRIPT, 1, key, member, String(ttlMs), String(staleMs)));
}

/** The members of the registry `key` still live by Redis's clock, in score order. */
export async function liveRegistryMembers(redis: Redis, key: string): Promise<string[]> {
  return (await redis.eval(LIVE_SCRIPT, 1, key)) as string[];
}
