import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { type Logger, silentLogger } from "../../logger.js";
import { Connection } from "./connection.js";
import type { FrameHandler } from "./frame-handler.js";
import type { ServerObserver } from "./server-observer.js";

/** Kafka's default socket.request.max.bytes. */
export const DEFAULT_MAX_REQUEST_SIZE = 100 * 1024 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface KafkaServerOptions<State = unknown> {
  handler: FrameHandler<State>;
  /** Largest request payload accepted, size prefix excluded; a larger one closes the connection. */
  maxRequestSize?: number;
  logger?: Logger;
  observer?: ServerObserver;
  /**
   * Called with the chunks of responses once the socket has written them (handed them to the
   * kernel), never before: their memory may then be reused. Not called for responses a closing
   * connection drops.
   */
  onWritten?: (chunks: readonly Buffer[]) => void;
}

export interface ListenOptions {
  /** Omitted: every interface. */
  host?: string;
  /** 0 picks a free port; the bound one is in the result. */
  port: number;
}

export interface ServerAddress {
  host: string;
  port: number;
  family: string;
}

export interface CloseOptions {
  /** How long in-flight requests may take before their connections are cut. */
  timeoutMs?: number;
}

/**
 * The broker's TCP listener. It frames bytes and nothing more: every request frame goes to the
 * handler, every response comes back from it.
 */
export class KafkaServer<State = unknown> {
  private readonly handler: FrameHandler<State>;
  private readonly maxRequestSize: number;
  private readonly log: Logger;
  private readonly observer: ServerObserver;
  private readonly onWritten: ((chunks: readonly Buffer[]) => void) | undefined;
  private readonly server: Server;
  private readonly connections = new Set<Connection<State>>();
  private lastConnectionId = 0;
  private closing: Promise<void> | undefined;
  /** Set while closing: called when the last connection has closed. */
  private onLastConnectionClosed: (() => void) | undefined;

  constructor(options: KafkaServerOptions<State>) {
    this.handler = options.handler;
    this.maxRequestSize = options.maxRequestSize ?? DEFAULT_MAX_REQUEST_SIZE;
    this.log = options.logger ?? silentLogger;
    this.observer = options.observer ?? {};
    this.onWritten = options.onWritten;
    // No delay: responses are already batched per event-loop turn, Nagle would only add latency.
    this.server = createServer({ noDelay: true, keepAlive: true }, this.accept);
    // Once listening, an accept failure (EMFILE...) must not crash the process; before, listen() reports it.
    this.server.on("error", (error) => {
      if (this.server.listening) this.log.error({ err: error }, "server socket error");
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** The bound address, or undefined when not listening. */
  get address(): ServerAddress | undefined {
    const address = this.server.address() as AddressInfo | null;
    return address === null ? undefined : { host: address.address, port: address.port, family: address.family };
  }

  listen(options: ListenOptions): Promise<ServerAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.server.off("listening", onListening);
        reject(error);
      };
      const onListening = () => {
        this.server.off("error", onError);
        resolve(this.address as ServerAddress);
      };
      this.server.once("error", onError);
      this.server.once("listening", onListening);
      this.server.listen({ host: options.host, port: options.port });
    });
  }

  /**
   * Stops accepting, lets in-flight requests finish and their responses be written, ends the
   * sockets, and resolves once all are closed. Connections still busy after the timeout are
   * cut. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutDown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    // net.Server calls back once no accepted socket is left, but it counts them down before
    // their close events reach our connections, so those are awaited on their own.
    const stoppedListening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const connectionsClosed = new Promise<void>((resolve) => {
      if (this.connections.size === 0) resolve();
      else this.onLastConnectionClosed = resolve;
    });
    for (const connection of this.connections) connection.drain();
    const deadline = setTimeout(() => {
      this.log.warn({ connections: this.connections.size, timeoutMs }, "cutting connections still busy at shutdown");
      for (const connection of this.connections) connection.destroy();
    }, timeoutMs);
    await Promise.all([stoppedListening, connectionsClosed]);
    clearTimeout(deadline);
  }

  private readonly accept = (socket: Socket): void => {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, {
      id: ++this.lastConnectionId,
      handler: this.handler,
      maxRequestSize: this.maxRequestSize,
      logger: this.log,
      observer: this.observer,
      onWritten: this.onWritten,
      onClose: (closed) => {
        this.connections.delete(closed);
        this.observer.connectionClosed?.(closed.context);
        if (this.connections.size === 0) this.onLastConnectionClosed?.();
      },
    });
    this.connections.add(connection);
    this.observer.connectionOpened?.(connection.context);
  };
}
