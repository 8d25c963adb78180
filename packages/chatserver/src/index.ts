export {
  createChatServer,
  type ChatServer,
  type ChatServerOptions,
  type ChatServerPorts,
  type ChatServerStats,
} from './chat-server.js';
export { loadConfig, type ChatServerConfig } from './config.js';
export { MAX_NOTIFY_BODY_BYTES } from './notify.js';
