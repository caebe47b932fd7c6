import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { ApiCodec } from "../protocol/codec-support.js";
import { FrameDecoder } from "../protocol/frame-decoder.js";
import { decodeResponseFrame, encodeRequestFrame } from "../protocol/frames.js";
import { BrookError, type BrookErrorOptions } from "./errors.js";

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** How long to wait for the TCP (and TLS) connection; default 10 s. */
  connectTimeoutMs?: number;
  /** How long to wait for each response unless a request says otherwise; default 30 s. */
  requestTimeoutMs?: number;
  /** Connect with TLS: `true` for the system's trusted CAs, or node:tls options (ca, cert, key...). */
  tls?: boolean | TlsConnectionOptions;
}

export interface RequestOptions {
  /** Overrides the connection's requestTimeoutMs, e.g. for a Fetch that long-polls. */
  timeoutMs?: number;
}

export type ConnectionErrorCode =
  | "BROOK_CONNECTION_CLOSED"
  | "BROOK_CONNECT_TIMEOUT"
  | "BROOK_REQUEST_TIMEOUT"
  | "BROOK_CONNECTION_FAILED";

/** The connection to a broker failed or closed; pending requests reject with it. */
export class ConnectionError extends BrookError {
  override name = "ConnectionError";
  constructor(code: ConnectionErrorCode, message: string, options: BrookErrorOptions = {}) {
    super(code, message, { retriable: true, ...options });
  }
}

/** Socket errors that say the network or the broker failed, not the configuration. */
const TRANSIENT_SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);

interface InFlight {
  apiName: string;
  decode: (frame: Buffer) => void;
  fail: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Responses can be as large as the broker's max fetch size; 1 GiB bounds a broken stream. */
const MAX_RESPONSE_BYTES = 1 << 30;
/**
 * Responses larger than one socket read (Node reads 64 KiB at a time) are copied into their own
 * buffer as they arrive (see FrameDecoder): an 8 MiB Fetch response took 50-56 ms instead of
 * 80-85 on the machines measured.
 */
const ASSEMBLE_RESPONSES_FROM = 64 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * One TCP (or TLS) connection to one broker: it owns the socket, the correlation ids and the
 * requests in flight, and it frames bytes. Requests are pipelined (the broker answers them in
 * order); the frames written within one event-loop turn leave in one vectored write.
 * Nothing above this class touches a socket.
 *
 * A request that times out closes the connection, as the Java client does: its response may
 * still come, and only a new connection guarantees that a retry cannot be overtaken by it.
 */
export class Connection {
  readonly address: string;
  readonly ready: Promise<void>;
  private readonly socket: Socket;
  private readonly inFlight = new Map<number, InFlight>();
  private nextCorrelationId = 0;
  private readonly frames = new FrameDecoder(MAX_RESPONSE_BYTES, ASSEMBLE_RESPONSES_FROM);
  private closedError: ConnectionError | undefined;
  private corked = false;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  constructor(private readonly options: ConnectionOptions) {
    this.address = options.host.includes(":") ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (options.tls) {
      const tlsOptions = options.tls === true ? {} : options.tls;
      this.socket = connectTls({
        host: options.host,
        port: options.port,
        // SNI takes host names only.
        ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
        ...tlsOptions,
      });
    } else {
      this.socket = connectTcp({ host: options.host, port: options.port });
    }
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new ConnectionError(
          "BROOK_CONNECT_TIMEOUT",
          `could not connect to ${this.address} within ${connectTimeoutMs} ms`,
          { broker: this.address },
        );
        this.closedError ??= error;
        this.socket.destroy(error);
      }, connectTimeoutMs);
      this.socket.once(options.tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.describeSocketError(error));
      });
    });
    this.ready.catch(() => undefined);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.closedError ??= this.describeSocketError(error);
    });
    this.socket.on("close", () => {
      this.failAll(
        new ConnectionError("BROOK_CONNECTION_CLOSED", `the connection to ${this.address} was closed by the broker`, {
          broker: this.address,
        }),
      );
    });
  }

  private describeSocketError(error: NodeJS.ErrnoException): ConnectionError {
    if (error instanceof ConnectionError) return error;
    const transient = error.code !== undefined && TRANSIENT_SOCKET_ERRORS.has(error.code);
    // A TLS failure (an untrusted certificate, a wrong host name) does not heal by retrying.
    const retriable = transient || !this.options.tls;
    return new ConnectionError("BROOK_CONNECTION_FAILED", `cannot connect to ${this.address}: ${error.message}`, {
      cause: error,
      retriable,
      broker: this.address,
    });
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  /** Calls `listener` once, when the connection closes for any reason. */
  onClose(listener: (error: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** Sends a request and resolves with the decoded response. */
  send<Request, Response, RequestInput>(
    codec: ApiCodec<Request, Response, RequestInput, unknown>,
    version: number,
    request: RequestInput,
    options: RequestOptions = {},
  ): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    let correlationId: number;
    try {
      correlationId = this.write(codec, version, request);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Response>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => this.onTimeout(correlationId, timeoutMs), timeoutMs);
      this.inFlight.set(correlationId, {
        apiName: codec.name,
        timer,
        fail: reject,
        decode: (frame) => {
          try {
            const { body } = decodeResponseFrame(frame, codec.apiKey, version);
            resolve(codec.decodeResponse(body, version));
          } catch (error) {
            reject(
              new BrookError(
                "BROOK_PROTOCOL",
                `cannot decode the ${codec.name} v${version} response from ${this.address}: ${(error as Error).message}`,
                { cause: error, broker: this.address },
              ),
            );
          }
        },
      });
    });
  }

  /**
   * Sends a request that gets no response (a Produce with acks=0); resolves once the bytes
   * are handed to the socket.
   */
  sendWithoutResponse<RequestInput>(
    codec: ApiCodec<unknown, unknown, RequestInput, unknown>,
    version: number,
    request: RequestInput,
  ): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    try {
      this.write(codec, version, request);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /** Frames and queues a request; returns its correlation id. */
  private write<RequestInput>(
    codec: ApiCodec<unknown, unknown, RequestInput, unknown>,
    version: number,
    request: RequestInput,
  ): number {
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) | 0;
    const chunks = encodeRequestFrame(codec, version, correlationId, this.options.clientId ?? "brook", request);
    // Frames written in this turn of the event loop leave together, in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const chunk of chunks) this.socket.write(chunk);
    return correlationId;
  }

  private onTimeout(correlationId: number, timeoutMs: number): void {
    const request = this.inFlight.get(correlationId);
    if (!request) return;
    this.inFlight.delete(correlationId);
    request.fail(
      new ConnectionError(
        "BROOK_REQUEST_TIMEOUT",
        `${request.apiName} to ${this.address} got no response within ${timeoutMs} ms`,
        { broker: this.address },
      ),
    );
    this.destroy(
      new ConnectionError(
        "BROOK_CONNECTION_CLOSED",
        `the connection to ${this.address} was closed after a ${request.apiName} request timed out`,
        { broker: this.address },
      ),
    );
  }

  private onData(chunk: Buffer): void {
    this.frames.push(chunk);
    for (;;) {
      let frame: Buffer | undefined;
      try {
        frame = this.frames.next();
      } catch (error) {
        this.destroy(
          new ConnectionError(
            "BROOK_CONNECTION_CLOSED",
            `the connection to ${this.address} was closed: ${(error as Error).message}`,
            { cause: error, broker: this.address },
          ),
        );
        return;
      }
      if (frame === undefined) return;
      const correlationId = frame.readInt32BE(0);
      const request = this.inFlight.get(correlationId);
      if (!request) continue;
      this.inFlight.delete(correlationId);
      clearTimeout(request.timer);
      request.decode(frame);
    }
  }

  private failAll(error: ConnectionError): void {
    this.closedError ??= error;
    const reason = this.closedError;
    for (const request of this.inFlight.values()) {
      clearTimeout(request.timer);
      request.fail(reason);
    }
    this.inFlight.clear();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  /** Closes at once; requests in flight reject with `error`. */
  destroy(error?: ConnectionError): void {
    this.failAll(
      error ??
        new ConnectionError("BROOK_CONNECTION_CLOSED", `the connection to ${this.address} was closed`, {
          broker: this.address,
        }),
    );
    this.socket.destroy();
  }

  /** Closes after the bytes already queued are written; requests in flight reject. */
  close(): Promise<void> {
    this.failAll(
      new ConnectionError("BROOK_CONNECTION_CLOSED", `the connection to ${this.address} was closed`, {
        broker: this.address,
        retriable: false,
      }),
    );
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.closed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
