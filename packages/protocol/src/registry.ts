/**
 * The chatserver registry in Redis: one sorted set whose members are the
 * chatservers' internal base URLs (`http://127.0.0.1:9101`) and whose scores
 * are the epoch milliseconds at which each heartbeat expires. A chatserver
 * refreshes its score every heartbeat; the worker sends to members whose score
 * is in the future. No reconfiguration is needed when chatservers come or go.
 */
export function registryKey(prefix: string): string {
  return `${prefix}chatservers`;
}

/** Default key prefix of everything Parley keeps in Redis. @default 'parley:' */
export const DEFAULT_REDIS_PREFIX = 'parley:';
/** Name of the BullMQ queue of notify jobs. */
export const NOTIFY_QUEUE_NAME = 'notify';

/**
 * Redis pub/sub channel on which the web tier announces the token hash of
 * every session that ended (sign-out, a revoked bot token): chatservers drop
 * what they cached about it at once, so a revoked token reads nothing more.
 */
export function sessionsEndedChannel(prefix: string): string {
  return `${prefix}sessions-ended`;
}
