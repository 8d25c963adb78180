/**
 * `@parley/protocol/node`: the Node-only half of the protocol — the validated
 * environment reader, signing of internal requests, bounded body reading,
 * metrics auth and session token hashing. Servers import it beside the
 * browser-safe root (`@parley/protocol`); browser code never does.
 */
export {
  ConfigError,
  bindScope,
  commonConfigSchema,
  parse,
  readConfig,
  type BindScope,
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
