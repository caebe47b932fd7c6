/**
 * What the network layer asks of the code above it (the dispatcher): one call per request
 * frame. The network layer knows nothing of Kafka headers or APIs.
 */

/**
 * A handler's answer to one frame: the response payload as chunks, without the size prefix
 * (the connection adds it), or null when the request gets no response (Produce with acks=0).
 */
export type FrameResponse = Buffer[] | null;

export interface ConnectionContext<State = unknown> {
  /** Unique within one server, in order of acceptance. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Aborted when the connection closes, so a parked request (a long-poll Fetch) can stop waiting. */
  readonly signal: AbortSignal;
  /** Closes the connection at once, abandoning what is in flight (the testing helper drops connections so). */
  destroy(): void;
  /** The handler's own per-connection state (e.g. SASL progress), undefined until it sets some. */
  state: State | undefined;
}

export interface FrameHandler<State = unknown> {
  /**
   * Called for every frame, in arrival order, one after the other: the next call does not wait
   * for an earlier promise, yet the responses are written in request order. Throwing (or
   * rejecting) closes this connection: with CloseConnection it is an expected close, anything
   * else is logged as a bug.
   */
  handleFrame(frame: Buffer, connection: ConnectionContext<State>): FrameResponse | Promise<FrameResponse>;
}

/**
 * Thrown by a handler to close its connection without answering, as Kafka does when an acks=0
 * produce fails or a request names an unsupported version: for such clients a closed
 * connection is the only error signal there is. Responses to earlier requests that are not
 * written yet are dropped with the connection.
 */
export class CloseConnection extends Error {
  override readonly name = "CloseConnection";
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}
