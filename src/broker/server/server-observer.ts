import type { ConnectionContext } from "./frame-handler.js";

/**
 * Optional callbacks for metrics, called synchronously from socket events: keep them cheap,
 * and never throw (an exception there would escape as an uncaught one).
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
