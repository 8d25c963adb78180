import { Registry, collectDefaultMetrics } from 'prom-client';

/** Prefix of every Parley metric name. */
export const METRICS_PREFIX = 'parley_';

/**
 * A registry with Node's default process metrics (CPU, RSS, open file
 * descriptors, event-loop lag, GC), every name prefixed `parley_`. One per
 * process: `main.ts` makes it.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
  return registry;
}
