import type { ConnectionContext } from "./frame-handler.js";

/**
 * Optional callbacks for metrics, called synchronously on the hot path: keep them cheap.
 * Requests are not counted here because the handler already sees each one.
 */
export interface ServerObserver {
  connectionOpened?(connection: ConnectionContext): void;
  connectionClosed?(connection: ConnectionContext): void;
  /** One socket read. */
  bytesRead?(connection: ConnectionContext, bytes: number): void;
  /** One socket write, carrying every response that was ready (size prefixes included in bytes). */
  responsesWritten?(connection: ConnectionContext, responses: number, bytes: number): void;
}
