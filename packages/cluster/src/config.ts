import { parse, readConfig, type ConfigSchema } from '@parley/protocol/node';

/** What `npm start` reads from the environment. */
export interface ClusterConfig {
  /** nginx's public port (`PORT`). @default 8080 */
  publicPort: number;
  /** `PARLEY_WEB_COUNT` @default 2 */
  webCount: number;
  /** `PARLEY_WORKER_COUNT` @default 1 */
  workerCount: number;
  /** `PARLEY_CHAT_COUNT` @default 2 */
  chatCount: number;
  /** `PARLEY_LOG_LEVEL`, for the supervisor's own log. @default 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `PARLEY_SECRET`; empty means a random one per run. @default '' */
  secret: string;
}

/** The variables `npm start` reads, in the order its `--help` lists them. */
export const clusterConfigSchema: ConfigSchema<ClusterConfig> = {
  publicPort: { env: 'PORT', default: 8080, parse: parse.port },
  // Upper bounds keep a typo from forking hundreds of processes on a laptop.
  webCount: { env: 'PARLEY_WEB_COUNT', default: 2, parse: parse.integer(1, 32) },
  workerCount: { env: 'PARLEY_WORKER_COUNT', default: 1, parse: parse.integer(0, 32) },
  chatCount: { env: 'PARLEY_CHAT_COUNT', default: 2, parse: parse.integer(1, 32) },
  logLevel: {
    env: 'PARLEY_LOG_LEVEL',
    default: 'info',
    parse: parse.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  secret: { env: 'PARLEY_SECRET', default: '', parse: parse.secret },
};

/** Reads and validates the cluster's settings; throws `ConfigError` listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<ClusterConfig> {
  return readConfig(clusterConfigSchema, env);
}
