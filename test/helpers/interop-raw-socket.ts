// A bare TCP client for bad-input tests: sends whatever bytes a test makes, reads back size-prefixed
// response frames, and reports when the broker closes the connection.
import { connect, type Socket } from "node:net";
import type { ApiCodec } from "../../src/protocol/codec-support.js";
import { decodeResponseFrame, encodeRequestFrame } from "../../src/protocol/frames.js";

export class RawSocket {
  /** Resolves when the socket has closed, whoever closed it. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiting: ((frame: Buffer | undefined) => void)[] = [];
  private isClosed = false;
  private lastCorrelationId = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      while (this.received.length >= 4 && this.received.length >= 4 + this.received.readInt32BE(0)) {
        const size = this.received.readInt32BE(0);
        this.deliver(this.received.subarray(4, 4 + size));
        this.received = this.received.subarray(4 + size);
      }
    });
    // Resets are what several tests provoke; the close event that follows is what they wait for.
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        for (const waiter of this.waiting.splice(0)) waiter(undefined);
        resolve();
      }),
    );
  }

  static connect(host: string, port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawSocket(socket));
      });
      socket.once("error", reject);
    });
  }

  get open(): boolean {
    return !this.isClosed;
  }

  write(bytes: Buffer | readonly Buffer[]): void {
    for (const chunk of Buffer.isBuffer(bytes) ? [bytes] : bytes) this.socket.write(chunk);
  }

  /** Encodes and sends a request with the project's codec. */
  request<Request>(codec: ApiCodec<unknown, unknown, Request>, version: number, correlationId: number, body: Request) {
    this.write(encodeRequestFrame(codec as ApiCodec<Request, unknown>, version, correlationId, "interop-test", body));
  }

  /** Sends a request and decodes its answer; fails if the connection closes instead. */
  async call<Request, Response>(
    codec: ApiCodec<unknown, Response, Request>,
    version: number,
    body: Request,
  ): Promise<Response> {
    const correlationId = ++this.lastCorrelationId;
    this.request(codec as ApiCodec<unknown, unknown, Request>, version, correlationId, body);
    const frame = await this.nextFrame();
    if (frame === undefined) throw new Error(`the broker closed the connection instead of answering ${codec.name}`);
    const response = decodeResponseFrame(frame, codec.apiKey, version);
    if (response.correlationId !== correlationId)
      throw new Error(`answer to ${response.correlationId}, not ${correlationId}`);
    return codec.decodeResponse(response.body, version);
  }

  /** The next response frame (without its size prefix), or undefined if the connection closes first. */
  nextFrame(): Promise<Buffer | undefined> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.isClosed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Half-closes our side, as a client that has nothing more to say. */
  end(): void {
    this.socket.end();
  }

  /** Closes with a TCP reset, as a client that crashed. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private deliver(frame: Buffer): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(frame);
    else this.frames.push(frame);
  }
}
