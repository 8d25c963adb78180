export { createWebApp, type WebApp, type WebAppOptions } from './app.js';
export { loadConfig, type WebConfig } from './config.js';
export { MemoryNotifyQueue, type NotifyJob, type NotifyQueue } from './notify-queue.js';
export type { OutboxRelay, OutboxRelayOptions } from './outbox-relay.js';
export { WebMetrics, type WebMetricsOptions, type SayAnswerClass } from './metrics.js';
