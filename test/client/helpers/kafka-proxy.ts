// A Kafka-aware TCP proxy for client tests: it forwards frames between clients and a broker and
// lets a test act on each request and response — drop it, answer it itself, replace it, or cut
// the connection at an exact point (after a request reached the broker, before its response
// reaches the client). Start it first, then start the broker advertising the proxy's port so
// that every connection the client opens goes through it.
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.js";
import { startBroker, type TestBroker, type TestBrokerOptions } from "../../../src/testing/index.js";

export interface FrameInfo {
  /** Client connections numbered from 0 in the order the proxy accepted them. */
  connection: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** What to do with a request: forward it (default), drop it, answer it (a payload without size prefix), or cut the connection. */
export type RequestAction = "forward" | "drop" | "close" | { respond: Buffer };
/** What to do with a response: forward it (default), replace its payload, or cut the connection instead. */
export type ResponseAction = "forward" | "close" | { replace: Buffer };

export interface KafkaProxyOptions {
  onRequest?: (info: FrameInfo, payload: Buffer) => RequestAction | undefined;
  onResponse?: (info: FrameInfo, payload: Buffer) => ResponseAction | undefined;
}

export interface KafkaProxy {
  readonly host: string;
  readonly port: number;
  /** Where frames go; set it once the broker listens. */
  setTarget(host: string, port: number): void;
  /** Requests seen so far, in arrival order. */
  readonly requests: FrameInfo[];
  /** Cuts every open client connection. */
  cutAll(): void;
  close(): Promise<void>;
}

const MAX_FRAME = 100 * 1024 * 1024;

function framed(payload: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

export async function startKafkaProxy(options: KafkaProxyOptions = {}): Promise<KafkaProxy> {
  let target: { host: string; port: number } | undefined;
  const requests: FrameInfo[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const server: Server = createServer((client) => {
    const connection = connections++;
    const upstream = connectTcp(target as { host: string; port: number });
    sockets.add(client);
    sockets.add(upstream);
    const pending = new Map<number, FrameInfo>();
    const fromClient = new FrameDecoder(MAX_FRAME);
    const fromBroker = new FrameDecoder(MAX_FRAME);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);

    client.on("data", (chunk: Buffer) => {
      fromClient.push(chunk);
      for (let payload = fromClient.next(); payload; payload = fromClient.next()) {
        const info: FrameInfo = {
          connection,
          apiKey: payload.readInt16BE(0),
          apiVersion: payload.readInt16BE(2),
          correlationId: payload.readInt32BE(4),
        };
        requests.push(info);
        const action = options.onRequest?.(info, payload) ?? "forward";
        if (action === "drop") continue;
        if (action === "close") return cut();
        if (typeof action === "object") {
          client.write(framed(action.respond));
          continue;
        }
        pending.set(info.correlationId, info);
        upstream.write(framed(payload));
      }
    });

    upstream.on("data", (chunk: Buffer) => {
      fromBroker.push(chunk);
      for (let payload = fromBroker.next(); payload; payload = fromBroker.next()) {
        const correlationId = payload.readInt32BE(0);
        const info = pending.get(correlationId);
        pending.delete(correlationId);
        const action = info ? (options.onResponse?.(info, payload) ?? "forward") : "forward";
        if (action === "close") return cut();
        client.write(framed(typeof action === "object" ? action.replace : payload));
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    host: "127.0.0.1",
    port: address.port,
    requests,
    setTarget(host, port) {
      target = { host, port };
    },
    cutAll() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ProxiedBroker {
  proxy: KafkaProxy;
  broker: TestBroker;
  /** The proxy's address: what clients bootstrap from. */
  bootstrap: string;
  stop(): Promise<void>;
}

/** An embedded broker that advertises the proxy's address, so every client connection goes through the proxy. */
export async function startProxiedBroker(
  proxyOptions: KafkaProxyOptions = {},
  brokerOptions: TestBrokerOptions = {},
): Promise<ProxiedBroker> {
  const proxy = await startKafkaProxy(proxyOptions);
  const broker = await startBroker({ ...brokerOptions, advertisedPort: proxy.port });
  proxy.setTarget("127.0.0.1", broker.broker.listenAddress.port);
  return {
    proxy,
    broker,
    bootstrap: `${proxy.host}:${proxy.port}`,
    async stop() {
      await proxy.close();
      await broker.stop();
    },
  };
}
