export { CloseConnection, type ConnectionContext, type FrameHandler, type FrameResponse } from "./frame-handler.js";
export {
  type CloseOptions,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_REQUEST_SIZE,
  KafkaServer,
  type KafkaServerOptions,
  type ListenOptions,
  type ServerAddress,
} from "./server.js";
export type { ServerObserver } from "./server-observer.js";
