import { once } from "node:events";
import { connect, type Socket } from "node:net";
import type { TestContext } from "node:test";
import type { ConnectionContext, FrameHandler, FrameResponse } from "../../../src/broker/server/frame-handler.js";
import { KafkaServer, type KafkaServerOptions, type ServerAddress } from "../../../src/broker/server/server.js";
import type { ServerObserver } from "../../../src/broker/server/server-observer.js";
import { createLogger, type Logger } from "../../../src/logger.js";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.js";
import { framed } from "../../helpers/framing.js";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Answers each frame with itself. */
export const echoHandler: FrameHandler = { handleFrame: (frame) => [frame] };

/**
 * A handler whose answers the test gives by hand: each frame waits as a pending request until
 * the test resolves or rejects it.
 */
export class ManualHandler implements FrameHandler {
  readonly pending: Array<{ frame: Buffer; connection: ConnectionContext } & Deferred<FrameResponse>> = [];
  private readonly arrivals: Array<() => void> = [];

  handleFrame(frame: Buffer, connection: ConnectionContext): Promise<FrameResponse> {
    const request = { frame, connection, ...deferred<FrameResponse>() };
    this.pending.push(request);
    for (const wake of this.arrivals.splice(0)) wake();
    return request.promise;
  }

  /** Resolves once `count` frames have arrived in total. */
  async received(count: number): Promise<void> {
    while (this.pending.length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A debug-level logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line) => lines.push(JSON.parse(line)) } });
  return { logger, lines };
}

/** Starts a server on a free loopback port and closes it when the test ends. */
export async function startServer<State>(
  t: TestContext,
  options: KafkaServerOptions<State>,
): Promise<{ server: KafkaServer<State>; address: ServerAddress }> {
  const server = new KafkaServer(options);
  const address = await server.listen({ host: "127.0.0.1", port: 0 });
  t.after(() => server.close({ timeoutMs: 0 }));
  return { server, address };
}

/** A raw client: writes bytes, reads size-prefixed frames. */
export class TestClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  /** Every byte received, framed or not. */
  bytesReceived = 0;
  private readonly decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  private readonly frames: Buffer[] = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = once(socket, "close").then(() => undefined);
    socket.on("data", (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== undefined; frame = this.decoder.next()) this.frames.push(frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("close", () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(t: TestContext, address: ServerAddress): Promise<TestClient> {
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    await once(socket, "connect");
    const client = new TestClient(socket);
    t.after(() => socket.destroy());
    return client;
  }

  /** Sends the payloads as frames in one write. */
  send(...payloads: Buffer[]): void {
    this.socket.write(Buffer.concat(payloads.map(framed)));
  }

  /** The next response frame; rejects if the connection closes first. */
  async nextFrame(): Promise<Buffer> {
    while (this.frames.length === 0) {
      if (this.socket.destroyed) throw new Error("connection closed before the response arrived");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.frames.shift() as Buffer;
  }

  async nextFrames(count: number): Promise<Buffer[]> {
    const frames: Buffer[] = [];
    while (frames.length < count) frames.push(await this.nextFrame());
    return frames;
  }

  /** Resolves once the server ends the connection, with the frames that came before. */
  async framesUntilClosed(): Promise<Buffer[]> {
    await this.closed;
    return this.frames.splice(0);
  }
}

/** Distinct small payloads: "request-0", "request-1", ... */
export function numberedPayloads(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`request-${i}`));
}

/** Records what the server reports, and lets a test wait until a condition holds. */
export class RecordingObserver implements ServerObserver {
  readonly opened: ConnectionContext[] = [];
  readonly closed: ConnectionContext[] = [];
  totalBytesRead = 0;
  writes = 0;
  responses = 0;
  bytesWritten = 0;
  private readonly waiters: Array<() => void> = [];

  connectionOpened(connection: ConnectionContext): void {
    this.opened.push(connection);
    this.wake();
  }

  connectionClosed(connection: ConnectionContext): void {
    this.closed.push(connection);
    this.wake();
  }

  bytesRead(_connection: ConnectionContext, bytes: number): void {
    this.totalBytesRead += bytes;
    this.wake();
  }

  responsesWritten(_connection: ConnectionContext, responses: number, bytes: number): void {
    this.writes++;
    this.responses += responses;
    this.bytesWritten += bytes;
    this.wake();
  }

  /** Resolves once `condition` holds, checking it after every reported event. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
