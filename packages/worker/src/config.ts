import { clusterConfigSchema, commonConfigSchema, parse, readConfig, type ClusterConfig, type CommonConfig, type ConfigSchema } from '@parley/protocol/node';

/** Everything a worker reads from its environment, validated and frozen. */
export interface WorkerConfig extends CommonConfig, ClusterConfig {
  /** `PARLEY_WORKER_HOST`: address of the health HTTP server. @default '127.0.0.1' */
  host: string;
  /** `PARLEY_WORKER_PORT`: port of the health HTTP server; 0 picks a free one. @default 3900 */
  port: number;
  /** `PARLEY_WORKER_CONCURRENCY`: notify jobs processed at once. @default 50 */
  concurrency: number;
  /**
   * `PARLEY_NOTIFY_BATCH_EVENTS`: most events one POST to a chatserver
   * carries when the sends of several jobs queue behind one in flight (they
   * are merged into one body); 1 sends one job per POST.
   * @default 1000
   */
  notifyBatchEvents: number;
  /** `PARLEY_NOTIFY_TIMEOUT_MS`: per-POST timeout to a chatserver (connect, headers, body). @default 2000 */
  notifyTimeoutMs: number;
  /**
   * `PARLEY_PRESENCE_SWEEP_MS`: how often stale presence is swept (one worker of
   * the cluster per tick). A leave comes at most timeout + this after the last observe.
   * @default 10000
   */
  presenceSweepMs: number;
}

const schema: ConfigSchema<WorkerConfig> = {
  ...commonConfigSchema,
  host: { env: 'PARLEY_WORKER_HOST', default: '127.0.0.1', parse: parse.internalHost },
  port: { env: 'PARLEY_WORKER_PORT', default: 3900, parse: parse.port },
  concurrency: { env: 'PARLEY_WORKER_CONCURRENCY', default: 50, parse: parse.integer(1, 10_000) },
  // A body of 10,000 events of 2,000 characters is ~20 MB: more would strain the chatserver's body limit.
  notifyBatchEvents: { env: 'PARLEY_NOTIFY_BATCH_EVENTS', default: 1000, parse: parse.integer(1, 10_000) },
  // Below 50 ms a healthy chatserver under a GC pause would already count as failed.
  notifyTimeoutMs: { env: 'PARLEY_NOTIFY_TIMEOUT_MS', default: 2000, parse: parse.integer(50, 600_000) },
  ...clusterConfigSchema,
  // Below 100 ms the sweep would mostly scan Redis for nothing.
  presenceSweepMs: { env: 'PARLEY_PRESENCE_SWEEP_MS', default: 10_000, parse: parse.integer(100, 600_000) },
};

/**
 * Reads the worker's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WorkerConfig> {
  return readConfig(schema, env);
}
