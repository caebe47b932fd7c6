import { connect, type Socket } from "node:net";
import type { ApiCodec } from "../protocol/codec-support.js";
import { FrameDecoder } from "../protocol/frame-decoder.js";
import { decodeResponseFrame, encodeRequestFrame } from "../protocol/frames.js";
import { ProtocolError } from "../protocol/protocol-error.js";

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** How long to wait for the TCP connection; default 10 s. */
  connectTimeoutMs?: number;
  /** How long to wait for each response; default 30 s. */
  requestTimeoutMs?: number;
}

/** The connection to a broker failed or closed; pending requests reject with it. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  constructor(
    readonly code:
      | "BROOK_CONNECTION_CLOSED"
      | "BROOK_CONNECT_TIMEOUT"
      | "BROOK_REQUEST_TIMEOUT"
      | "BROOK_CONNECTION_FAILED",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface InFlight {
  apiKey: number;
  version: number;
  decode: (frame: Buffer) => void;
  fail: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One TCP connection to one broker: it owns the socket, the correlation ids and the requests
 * in flight, and it frames bytes. Requests are pipelined; the broker answers them in order.
 * Nothing above this class touches a socket.
 */
export class Connection {
  private readonly socket: Socket;
  private readonly inFlight = new Map<number, InFlight>();
  private nextCorrelationId = 0;
  /** Responses can be as large as the broker's max fetch size; 1 GiB bounds a broken stream. */
  private readonly frames = new FrameDecoder(1 << 30);
  private closedError: Error | undefined;
  readonly ready: Promise<void>;

  constructor(private readonly options: ConnectionOptions) {
    this.socket = connect({ host: options.host, port: options.port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new ConnectionError(
          "BROOK_CONNECT_TIMEOUT",
          `could not connect to ${options.host}:${options.port} within ${options.connectTimeoutMs ?? 10_000} ms`,
        );
        this.socket.destroy(error);
      }, options.connectTimeoutMs ?? 10_000);
      this.socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.once("error", (error) => {
        clearTimeout(timer);
        reject(
          error instanceof ConnectionError
            ? error
            : new ConnectionError(
                "BROOK_CONNECTION_FAILED",
                `cannot connect to ${options.host}:${options.port}: ${error.message}`,
                { cause: error },
              ),
        );
      });
    });
    this.ready.catch(() => undefined);
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("error", () => undefined);
    this.socket.on("close", () =>
      this.failAll(new ConnectionError("BROOK_CONNECTION_CLOSED", "the broker closed the connection")),
    );
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  /** Sends a request and resolves with the decoded response. */
  send<Request, Response, RequestInput>(
    codec: ApiCodec<Request, Response, RequestInput, unknown>,
    version: number,
    request: RequestInput,
  ): Promise<Response> {
    return this.sendRaw(codec, version, request, true) as Promise<Response>;
  }

  /** Sends a request that gets no response (a Produce with acks=0). */
  sendWithoutResponse<RequestInput>(
    codec: ApiCodec<unknown, unknown, RequestInput, unknown>,
    version: number,
    request: RequestInput,
  ): Promise<void> {
    return this.sendRaw(codec, version, request, false) as Promise<void>;
  }

  private sendRaw<RequestInput>(
    codec: ApiCodec<unknown, unknown, RequestInput, unknown>,
    version: number,
    request: RequestInput,
    expectResponse: boolean,
  ): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) | 0;
    const chunks = encodeRequestFrame(codec, version, correlationId, this.options.clientId ?? "brook", request);
    this.socket.write(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    if (!expectResponse) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.inFlight.delete(correlationId);
        reject(new ConnectionError("BROOK_REQUEST_TIMEOUT", `${codec.name} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.set(correlationId, {
        apiKey: codec.apiKey,
        version,
        timer,
        fail: reject,
        decode: (frame) => {
          try {
            const { body } = decodeResponseFrame(frame, codec.apiKey, version);
            resolve(codec.decodeResponse(body, version));
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.frames.push(chunk);
    for (;;) {
      let frame: Buffer | undefined;
      try {
        frame = this.frames.next();
      } catch (error) {
        this.socket.destroy();
        this.failAll(new ProtocolError("PROTOCOL_BAD_FRAME", (error as Error).message));
        return;
      }
      if (frame === undefined) return;
      const correlationId = frame.readInt32BE(0);
      const request = this.inFlight.get(correlationId);
      if (!request) continue; // it timed out already
      this.inFlight.delete(correlationId);
      clearTimeout(request.timer);
      request.decode(frame);
    }
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const request of this.inFlight.values()) {
      clearTimeout(request.timer);
      request.fail(error);
    }
    this.inFlight.clear();
  }

  close(): Promise<void> {
    this.failAll(new ConnectionError("BROOK_CONNECTION_CLOSED", "the connection was closed"));
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
