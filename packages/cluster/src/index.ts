export { findFreePort, waitForPort } from './ports.js';
export {
  startRedisSentinel,
  startRedisServer,
  type RedisSentinelOptions,
  type RedisServerHandle,
  type RedisServerOptions,
} from './redis-server.js';
export {
  DEFAULT_NGINX_TEMPLATE,
  nginxCapacity,
  openFileLimit,
  type NginxCapacity,
  renderNginxConfig,
  startNginx,
  writeNginxConfig,
  type NginxConfigOptions,
  type NginxHandle,
  type NginxOptions,
  type UpstreamAddress,
} from './nginx.js';
export {
  REPO_ROOT,
  logTails,
  startCluster,
  type ChildRole,
  type ClusterHandle,
  type ClusterOptions,
  type ClusterStore,
} from './supervisor.js';
export { readClusterFile, type ClusterProcessInfo, type ClusterRole } from './cluster-file.js';
export type { LineSink } from './line-splitter.js';
export { loadConfig, type ClusterConfig } from './config.js';
export {
  POSTGRES_DATABASE,
  POSTGRES_USER,
  findPostgresInstallation,
  startPostgresServer,
  type PostgresInstallation,
  type PostgresServerHandle,
  type PostgresServerOptions,
} from './postgres-server.js';
export {
  NETNS_PREFIX,
  createHostNetwork,
  multihostUnavailableReason,
  removeLeftoverNetworks,
  type HostNetwork,
  type NetnsHost,
} from './netns.js';
export { MULTIHOST_REDIS_MASTER, startMultihostCluster, type MultihostHandle, type MultihostOptions } from './multihost.js';
