export {
  createWorker,
  type CreateWorkerOptions,
  type NotifyJobResult,
  type NotifyWorker,
  type NotifyWorkerConfig,
} from './worker.js';
export { loadConfig, type WorkerConfig } from './config.js';
export {
  createPresenceSweeper,
  type PresenceSweeper,
  type PresenceSweeperOptions,
  type SweepResult,
} from './presence-sweeper.js';
export { WorkerMetrics, type WorkerMetricsOptions } from './metrics.js';
