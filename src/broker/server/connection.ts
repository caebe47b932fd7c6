import type { Socket } from "node:net";
import type { Logger } from "../../logger.js";
import { FrameDecoder, InvalidFrameSizeError } from "../../protocol/frame-decoder.js";
import { CloseConnection, type ConnectionContext, type FrameHandler, type FrameResponse } from "./frame-handler.js";
import { ResponseQueue, type ResponseSlot } from "./response-queue.js";
import type { ServerObserver } from "./server-observer.js";

export interface ConnectionOptions<State> {
  id: number;
  handler: FrameHandler<State>;
  maxRequestSize: number;
  logger: Logger;
  observer: ServerObserver;
  /** Called with written response chunks, once the socket has written them (see KafkaServerOptions). */
  onWritten: ((chunks: readonly Buffer[]) => void) | undefined;
  /** Called once, after the socket has closed and the connection has let go of everything. */
  onClose(connection: Connection<State>): void;
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

/**
 * One client socket: splits its bytes into frames, hands each frame to the handler as soon as
 * it is complete, and writes the responses back in request order.
 *
 * Writes are batched: whatever is ready is written in a single corked write once per
 * event-loop turn (setImmediate runs after the reads and promise callbacks of the turn), which
 * turns a burst of pipelined requests into one system call instead of one per response.
 *
 * Back-pressure: no new frame is dispatched while the socket's write buffer is full or while
 * finished-but-unwritten responses already fill it, and reading stops meanwhile. So a client
 * that does not read its responses stops being served, instead of making us buffer them.
 */
export class Connection<State = unknown> {
  readonly context: ConnectionContext<State>;

  private readonly socket: Socket;
  private readonly handler: FrameHandler<State>;
  private readonly observer: ServerObserver;
  private readonly onWritten: ((chunks: readonly Buffer[]) => void) | undefined;
  private readonly log: Logger;
  private readonly notifyClosed: (connection: Connection<State>) => void;
  private readonly decoder: FrameDecoder;
  private readonly responses = new ResponseQueue();
  private readonly abortController = new AbortController();
  private flushImmediate: NodeJS.Immediate | undefined;
  /** The server is shutting down: in-flight requests are answered, nothing new is taken. */
  private draining = false;
  /** Torn down: nothing is read, dispatched or written any more. */
  private stopped = false;

  constructor(socket: Socket, options: ConnectionOptions<State>) {
    this.socket = socket;
    this.handler = options.handler;
    this.observer = options.observer;
    this.onWritten = options.onWritten;
    this.notifyClosed = options.onClose;
    this.decoder = new FrameDecoder(options.maxRequestSize);
    this.context = {
      id: options.id,
      // Unset only when the socket is already gone; it then closes at once.
      remoteAddress: socket.remoteAddress ?? "unknown",
      remotePort: socket.remotePort ?? 0,
      signal: this.abortController.signal,
      destroy: () => this.destroy(),
      state: undefined,
    };
    this.log = options.logger.child({
      connection: this.context.id,
      remoteAddress: this.context.remoteAddress,
      remotePort: this.context.remotePort,
    });
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("drain", this.onDrain);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
    this.log.debug("connection accepted");
  }

  /**
   * Graceful close: drop requests not yet dispatched, let the in-flight ones finish and be
   * written, then end the socket. Reading goes on (and is discarded) so the client's own close
   * is seen.
   */
  drain(): void {
    if (this.stopped || this.draining) return;
    this.draining = true;
    this.decoder.clear();
    this.pump();
  }

  /** Closes at once, abandoning whatever is in flight. */
  destroy(): void {
    if (this.stopped) return;
    this.stop();
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.observer.bytesRead?.(this.context, chunk.length);
    if (this.stopped || this.draining) return;
    this.decoder.push(chunk);
    this.pump();
  };

  /**
   * The client closed its side. As in Kafka, that ends the connection: Kafka clients never
   * half-close to wait for answers, and a parked request should learn at once that its client
   * is gone rather than when it completes.
   */
  private readonly onEnd = (): void => {
    if (this.stopped) return;
    this.log.debug({ bufferedBytes: this.decoder.bufferedBytes }, "client closed the connection");
    this.destroy();
  };

  private readonly onDrain = (): void => {
    this.pump();
  };

  private readonly onError = (error: Error): void => {
    // Resets and broken pipes are what clients do; the socket closes itself after this.
    this.log.debug({ err: error }, "socket error");
  };

  private readonly onClose = (): void => {
    this.stop();
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("drain", this.onDrain);
    this.socket.off("error", this.onError);
    this.socket.off("close", this.onClose);
    this.log.debug("connection closed");
    this.notifyClosed(this);
  };

  /** Dispatches buffered frames while the output has room, then decides whether to read or to end. */
  private pump(): void {
    while (!this.stopped && !this.draining && !this.outputBacklogged()) {
      const frame = this.nextFrame();
      if (frame === undefined) break;
      this.dispatch(frame);
    }
    if (this.stopped) return;
    if (this.draining && this.responses.isEmpty && !this.socket.writableEnded) this.socket.end();
    // While draining the input is discarded, and reading must go on to see the client close.
    if (this.outputBacklogged() && !this.draining) this.socket.pause();
    else this.socket.resume();
  }

  private outputBacklogged(): boolean {
    return this.socket.writableNeedDrain || this.responses.readyBytes >= this.socket.writableHighWaterMark;
  }

  private nextFrame(): Buffer | undefined {
    try {
      return this.decoder.next();
    } catch (error) {
      if (!(error instanceof InvalidFrameSizeError)) throw error;
      this.log.warn(
        { size: error.size, maxRequestSize: error.maxFrameSize },
        "closing connection: request size prefix out of range",
      );
      this.destroy();
      return undefined;
    }
  }

  private dispatch(frame: Buffer): void {
    let result: FrameResponse | Promise<FrameResponse>;
    try {
      result = this.handler.handleFrame(frame, this.context);
    } catch (error) {
      this.fail(error);
      return;
    }
    const slot = this.responses.reserve();
    if (isPromiseLike(result)) {
      result.then(
        (response) => this.complete(slot, response),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private complete(slot: ResponseSlot, response: FrameResponse): void {
    if (this.stopped) return; // the client left; nobody is waiting for this response
    let headReady: boolean;
    try {
      headReady = this.responses.fill(slot, response);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (headReady && this.flushImmediate === undefined) this.flushImmediate = setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushImmediate = undefined;
    // A socket the peer has just broken is destroyed a moment before its close event stops us.
    if (this.stopped || this.socket.destroyed) return;
    const ready = this.responses.takeReady();
    if (ready.chunks.length > 0) {
      this.socket.cork();
      const { onWritten } = this;
      const last = ready.chunks.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(ready.chunks[i]!);
      // Writes complete in order: when the last chunk's callback runs, every chunk is written.
      if (onWritten === undefined) this.socket.write(ready.chunks[last]!);
      else
        this.socket.write(ready.chunks[last]!, (error) => {
          if (!error) onWritten(ready.chunks);
        });
      this.socket.uncork();
      this.observer.responsesWritten?.(this.context, ready.responses, ready.bytes);
    }
    this.pump();
  };

  private fail(error: unknown): void {
    if (this.stopped) {
      this.log.debug({ err: error }, "request failed after its connection closed");
      return;
    }
    if (error instanceof CloseConnection) {
      this.log.info({ reason: error.reason }, "closing connection at the handler's request");
    } else {
      this.log.error({ err: error }, "request handler failed; closing connection");
    }
    this.destroy();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.responses.clear();
    this.decoder.clear();
    this.abortController.abort();
  }
}
