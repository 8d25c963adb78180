/**
 * `@parley/protocol/node`: the Node-only half of the protocol — the validated
 * environment reader, signing of internal requests and the signed client that
 * sends them, bounded body reading, error answers and security headers of the
 * Node servers, metrics auth and registry, session token hashing, and the
 * pieces every process shares: `runMain` and the periodic task. Servers import it beside the
 * browser-safe root (`@parley/protocol`); browser code never does.
 */
export {
  ConfigError,
  bindScope,
  clusterConfigSchema,
  commonConfigSchema,
  parse,
  readConfig,
  type BindScope,
  type ClusterConfig,
  type CommonConfig,
  type ConfigField,
  type ConfigSchema,
  type LogLevel,
  type RedisAddress,
} from './config.js';
export {
  DEFAULT_SIGNATURE_WINDOW_MS,
  NONCE_HEADER,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signRequest,
  signatureHeaders,
  verifySignedRequest,
  type ReplayGuardOptions,
  type SignatureHeaders,
  type SignedRequestParts,
} from './signing.js';
export { parseInternalJsonBody, readLimitedBody } from './http-body.js';
export { METRICS_PATH, isMetricsScrapeAllowed } from './metrics-auth.js';
export { METRICS_PREFIX, createMetricsRegistry } from './metrics-registry.js';
export {
  JSON_ANSWER_HEADERS,
  SECURITY_HEADERS,
  UPSTREAM_KEEP_ALIVE_TIMEOUT_MS,
  retryAfterHeader,
  sendAnswer,
  sendErrorAnswer,
  sendJsonAnswer,
  type AnswerSink,
} from './http-answer.js';
export { createPeriodicTask, type PeriodicTask, type PeriodicTaskOptions } from './periodic-task.js';
export { runMain, type RunMainOptions, type RunningProcess, type StartContext } from './run-main.js';
export {
  WebTierUnavailableError,
  createSignedClient,
  type SignedClient,
  type SignedClientOptions,
  type SignedRequest,
} from './signed-client.js';
export { hashSessionToken } from './session-token-hash.js';
export {
  UsageError,
  environmentHelp,
  formatHelp,
  numberValue,
  parseCommandLine,
  readCommandLine,
  type CommandEnvironmentVariable,
  type CommandIo,
  type CommandLine,
  type CommandOption,
  type CommandSpec,
  type CommandValues,
} from './command-line.js';
export { signObserveTicket, verifyObserveTicket, type ObserveTicket } from './observe-ticket.js';
