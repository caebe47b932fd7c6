// A TCP proxy that sits between a real Kafka client and a broker, forwards every byte
// unchanged, and records the request and response frames it saw, paired by correlation id.
// scripts/record-fixtures.mjs uses it to capture the byte-exact fixtures under test/fixtures/.
import { connect, createServer, type Server, type Socket } from "node:net";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";

/** Kafka's default socket.request.max.bytes: frames above it are not Kafka traffic. */
const MAX_FRAME_BYTES = 100 * 1024 * 1024;

/** One request and, once it arrives, its response; both exactly as on the wire, size prefix included. */
export interface RecordedExchange {
  /** Client connections numbered in the order the proxy accepted them, from 0. */
  connection: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  request: Buffer;
  /** null until the response arrives, and for good when there is none (Produce with acks=0). */
  response: Buffer | null;
}

export interface Address {
  host: string;
  port: number;
}

export interface RecordingProxy extends Address {
  /** Every exchange seen so far, in the order the requests arrived. */
  readonly exchanges: RecordedExchange[];
  /** Traffic the proxy could not make sense of (bad frame size, response to no request). */
  readonly problems: Error[];
  /**
   * Where to forward connections. Separate from starting, because a broker must know the
   * proxy's port (to advertise it, so clients reconnect through the proxy) before it starts.
   */
  forwardTo(upstream: Address): void;
  close(): Promise<void>;
}

/** The frame with its four-byte size prefix put back, copied out of the socket's chunk. */
function withSizePrefix(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

export async function startRecordingProxy(host = "127.0.0.1"): Promise<RecordingProxy> {
  const exchanges: RecordedExchange[] = [];
  const problems: Error[] = [];
  const sockets = new Set<Socket>();
  let upstream: Address | undefined;
  let connectionCount = 0;

  const server: Server = createServer((client) => {
    const connection = connectionCount++;
    if (!upstream) {
      problems.push(new Error(`connection ${connection} arrived before forwardTo()`));
      client.destroy();
      return;
    }
    const broker = connect(upstream.port, upstream.host);
    for (const socket of [client, broker]) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    }
    // Responses name only a correlation id; the api and version come from the request.
    const awaitingResponse = new Map<number, RecordedExchange>();
    const requestFrames = new FrameDecoder(MAX_FRAME_BYTES);
    const responseFrames = new FrameDecoder(MAX_FRAME_BYTES);
    const fail = (error: Error) => {
      problems.push(new Error(`connection ${connection}: ${error.message}`));
      client.destroy();
      broker.destroy();
    };

    client.on("data", (chunk: Buffer) => {
      broker.write(chunk);
      requestFrames.push(chunk);
      try {
        for (let payload = requestFrames.next(); payload; payload = requestFrames.next()) {
          if (payload.length < 8) throw new Error(`request frame of ${payload.length} bytes`);
          const exchange: RecordedExchange = {
            connection,
            apiKey: payload.readInt16BE(0),
            apiVersion: payload.readInt16BE(2),
            correlationId: payload.readInt32BE(4),
            request: withSizePrefix(payload),
            response: null,
          };
          exchanges.push(exchange);
          awaitingResponse.set(exchange.correlationId, exchange);
        }
      } catch (error) {
        fail(error as Error);
      }
    });
    broker.on("data", (chunk: Buffer) => {
      client.write(chunk);
      responseFrames.push(chunk);
      try {
        for (let payload = responseFrames.next(); payload; payload = responseFrames.next()) {
          if (payload.length < 4) throw new Error(`response frame of ${payload.length} bytes`);
          const correlationId = payload.readInt32BE(0);
          const exchange = awaitingResponse.get(correlationId);
          if (!exchange) throw new Error(`response with correlation id ${correlationId} answers no request`);
          awaitingResponse.delete(correlationId);
          exchange.response = withSizePrefix(payload);
        }
      } catch (error) {
        fail(error as Error);
      }
    });
    client.on("end", () => broker.end());
    broker.on("end", () => client.end());
    client.on("error", () => broker.destroy());
    broker.on("error", () => client.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no TCP address");

  return {
    host,
    port: address.port,
    exchanges,
    problems,
    forwardTo(target) {
      upstream = target;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
