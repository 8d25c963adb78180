export { findFreePort, waitForPort } from './ports.js';
export { startRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';
