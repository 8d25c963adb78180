import type { Redis } from 'ioredis';
import {
  RLWrapperTimeouts,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { ChatError, type Logger } from '@parley/protocol';
import type { WebConfig } from './config.js';

/** Every limit counts requests in a fixed window of one minute. */
export const RATE_WINDOW_SECONDS = 60;
/**
 * Longest wait for Redis to count a request before the in-memory insurance
 * limiter decides instead: a hung (not down) Redis must not hold up says.
 * A healthy local Redis answers in well under a millisecond.
 */
export const REDIS_LIMIT_TIMEOUT_MS = 250;

/** Requests allowed per minute; 0 turns a limit off. */
export interface RateLimitSettings {
  /** Says of one session. */
  sayPerSession: number;
  /** Says from one client address (all its sessions). */
  sayPerIp: number;
  /** Sessions created from one client address. */
  sessionPerIp: number;
  /** Enters of one session. */
  enterPerSession: number;
  /** Accounts created from one client address. @default 0 (off) where not given */
  signUpPerIp?: number;
  /** Sign-in attempts from one client address. @default 0 (off) where not given */
  signInPerIp?: number;
}

/** The limits `config` sets (`PARLEY_RATE_*`). */
export function rateLimitSettings(config: WebConfig): RateLimitSettings {
  return {
    sayPerSession: config.rateSayPerSession,
    sayPerIp: config.rateSayPerIp,
    sessionPerIp: config.rateSessionPerIp,
    enterPerSession: config.rateEnterPerSession,
    signUpPerIp: config.rateSignUpPerIp,
    signInPerIp: config.rateSignInPerIp,
  };
}

/**
 * The abuse limits of the write endpoints. Each check charges one request and
 * throws 429 `rate_limited` (with `retryAfterSeconds`) once the limit of the
 * current minute is used up.
 */
export interface RateLimits {
  /** A say by `sessionId` from `ip`: charged to both. */
  say(sessionId: string, ip: string): Promise<void>;
  /** Gives a say back: it was an idempotent repeat that stored nothing. */
  refundSay(sessionId: string, ip: string): Promise<void>;
  /** A new session from `ip`. */
  createSession(ip: string): Promise<void>;
  /** An enter by `sessionId`. */
  enter(sessionId: string): Promise<void>;
  /** A sign-up from `ip`. */
  signUp(ip: string): Promise<void>;
  /** A sign-in attempt from `ip`. */
  signIn(ip: string): Promise<void>;
}

/** Limits that never refuse (tests and tools that build the app without Redis). */
export const NO_RATE_LIMITS: RateLimits = Object.freeze({
  async say() {},
  async refundSay() {},
  async createSession() {},
  async enter() {},
  async signUp() {},
  async signIn() {},
});

/** Options of `createRateLimits`. */
export interface RateLimitsOptions {
  /**
   * The web process's Redis connection, shared by every web process so a
   * limit holds across them. Without an offline queue, a command fails at
   * once while Redis is down and the in-memory insurance limiter answers.
   */
  redis: Redis;
  /** `PARLEY_REDIS_PREFIX`; the counters are `${prefix}rl:<limit>:<key>`. */
  prefix: string;
  limits: RateLimitSettings;
  log: Logger;
}

type LimitName = keyof RateLimitSettings;

/**
 * Builds the limits on Redis (`rate-limiter-flexible`). Each has an in-memory
 * insurance limiter with the same numbers: during a Redis outage a limit holds
 * per web process instead of cluster-wide, and a say still answers 2xx (it
 * lands in the outbox) rather than 5xx.
 */
export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const { redis, prefix, limits, log } = options;
  const limiters = new Map<LimitName, RateLimiterAbstract | RLWrapperTimeouts>();
  for (const name of Object.keys(limits) as LimitName[]) {
    const points = limits[name] ?? 0;
    if (points === 0) continue;
    const keyPrefix = `${prefix}rl:${name}`;
    const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points, duration: RATE_WINDOW_SECONDS });
    const shared = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration: RATE_WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
      insuranceLimiter,
    });
    limiters.set(name, new RLWrapperTimeouts({ limiter: shared, timeoutMs: REDIS_LIMIT_TIMEOUT_MS, insuranceLimiter }));
  }

  async function consume(name: LimitName, key: string): Promise<void> {
    const limiter = limiters.get(name);
    if (limiter === undefined) return;
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new ChatError('rate_limited', `too many requests (${limits[name]} per minute), try again later`, {
          retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
        });
      }
      // Neither store nor insurance could count: let the request through
      // rather than refuse every write because a counter failed.
      log.warn({ limit: name, err: rejection }, 'rate limit not checked');
    }
  }

  async function refund(name: LimitName, key: string): Promise<void> {
    await limiters.get(name)?.reward(key, 1).catch((error: unknown) => {
      log.warn({ limit: name, err: error }, 'rate limit refund failed');
    });
  }

  return {
    async say(sessionId, ip) {
      await consume('sayPerSession', sessionId);
      await consume('sayPerIp', ip);
    },
    async refundSay(sessionId, ip) {
      await Promise.all([refund('sayPerSession', sessionId), refund('sayPerIp', ip)]);
    },
    createSession: (ip) => consume('sessionPerIp', ip),
    enter: (sessionId) => consume('enterPerSession', sessionId),
    signUp: (ip) => consume('signUpPerIp', ip),
    signIn: (ip) => consume('signInPerIp', ip),
  };
}
