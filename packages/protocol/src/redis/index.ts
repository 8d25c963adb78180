/**
 * `@parley/protocol/redis`: how every role reaches Redis — the one connection
 * factory (a single Redis or Sentinel-managed primary) and the chatserver
 * registry scripts scored with Redis's clock.
 */
export {
  createRedisConnection,
  reconnectOnRedisError,
  redisConnectionOptions,
  type RedisConnectionKind,
  type RedisSettings,
} from './connection.js';
export { beatRegistry, liveRegistryMembers, type RegistryBeat } from './registry.js';
