import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { CloseConnection, type FrameHandler } from "../../../src/broker/server/frame-handler.js";
import { DEFAULT_MAX_REQUEST_SIZE, KafkaServer } from "../../../src/broker/server/server.js";
import { sizePrefix } from "../../helpers/framing.js";
import {
  capturingLogger,
  echoHandler,
  LEVEL,
  type LogLine,
  ManualHandler,
  RecordingObserver,
  startServer,
  TestClient,
} from "./helpers.js";

/** Echoes, except for frames that ask it to fail. */
const failingHandler: FrameHandler = {
  handleFrame(frame) {
    switch (frame.toString()) {
      case "throw":
        throw new Error("handler bug");
      case "reject":
        return Promise.reject(new Error("async handler bug"));
      case "close":
        throw new CloseConnection("acks=0 produce failed");
      default:
        return [frame];
    }
  },
};

const atLeast = (level: number) => (line: LogLine) => line.level >= level;

describe("KafkaServer", () => {
  it("listens on a free port when given port 0, and reports the bound address", async (t) => {
    const { server, address } = await startServer(t, { handler: echoHandler });
    assert.equal(address.host, "127.0.0.1");
    assert.ok(address.port > 0);
    assert.deepEqual(server.address, address);
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("hello"));
    assert.deepEqual(await client.nextFrame(), Buffer.from("hello"));
  });

  it("rejects listen when the port is taken", async (t) => {
    const { address } = await startServer(t, { handler: echoHandler });
    const second = new KafkaServer({ handler: echoHandler });
    await assert.rejects(second.listen({ host: address.host, port: address.port }), { code: "EADDRINUSE" });
  });

  it("uses Kafka's 100 MiB request limit by default", () => {
    assert.equal(DEFAULT_MAX_REQUEST_SIZE, 104_857_600);
  });

  for (const [what, size] of [
    ["a size prefix above the limit", 1025],
    ["a negative size prefix", -1],
  ] as const) {
    it(`closes only the connection that sends ${what}, and logs it`, async (t) => {
      const { logger, lines } = capturingLogger();
      const { address } = await startServer(t, { handler: echoHandler, logger, maxRequestSize: 1024 });
      const bad = await TestClient.connect(t, address);
      const good = await TestClient.connect(t, address);
      const badPort = bad.socket.localPort;

      // Only the prefix is sent: the connection closes without waiting for the claimed bytes.
      bad.socket.write(sizePrefix(size));
      await bad.closed;
      const warning = lines.find(atLeast(LEVEL.warn));
      assert.equal(warning?.level, LEVEL.warn);
      assert.equal(warning?.size, size);
      assert.equal(warning?.remoteAddress, "127.0.0.1");
      assert.equal(warning?.remotePort, badPort);

      good.send(Buffer.alloc(1024, 3));
      assert.deepEqual(await good.nextFrame(), Buffer.alloc(1024, 3));
    });
  }

  for (const failure of ["throw", "reject"]) {
    it(`closes only the connection whose handler ${failure}s, and logs the error with its stack`, async (t) => {
      const { logger, lines } = capturingLogger();
      const { address } = await startServer(t, { handler: failingHandler, logger });
      const failing = await TestClient.connect(t, address);
      const healthy = await TestClient.connect(t, address);

      failing.send(Buffer.from("fine"), Buffer.from(failure), Buffer.from("never handled"));
      await failing.closed;
      const errors = lines.filter(atLeast(LEVEL.error));
      assert.equal(errors.length, 1);
      const err = errors[0]!.err as { message: string; stack: string };
      assert.match(err.message, /handler bug/);
      assert.match(err.stack, /server\.test\.js/);

      healthy.send(Buffer.from("still here"));
      assert.deepEqual(await healthy.nextFrame(), Buffer.from("still here"));
    });
  }

  it("closes the connection when the handler throws CloseConnection, logging the reason without an error", async (t) => {
    const { logger, lines } = capturingLogger();
    const { address } = await startServer(t, { handler: failingHandler, logger });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("close"));
    await client.closed;
    assert.deepEqual(lines.filter(atLeast(LEVEL.warn)), []);
    const closing = lines.find((line) => line.reason !== undefined);
    assert.equal(closing?.level, LEVEL.info);
    assert.equal(closing?.reason, "acks=0 produce failed");
  });

  it("counts connections and reports them, with the bytes read and written", async (t) => {
    const observer = new RecordingObserver();
    const { server, address } = await startServer(t, { handler: echoHandler, observer });
    const one = await TestClient.connect(t, address);
    const two = await TestClient.connect(t, address);
    await observer.until(() => observer.opened.length === 2);
    assert.equal(server.connectionCount, 2);

    one.send(Buffer.from("abc"), Buffer.from("defg"));
    await one.nextFrames(2);
    assert.equal(observer.totalBytesRead, 4 + 3 + 4 + 4);
    assert.equal(observer.bytesWritten, one.bytesReceived);
    assert.equal(observer.responses, 2);

    two.socket.destroy();
    await observer.until(() => observer.closed.length === 1);
    assert.equal(observer.closed[0]!.id, observer.opened[1]!.id);
    assert.equal(server.connectionCount, 1);
  });

  it("on close, stops accepting, answers the requests in flight, then ends the connections", async (t) => {
    const handler = new ManualHandler();
    const { server, address } = await startServer(t, { handler });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("slow fetch"));
    await handler.received(1);

    let closed = false;
    const closing = server.close({ timeoutMs: 60_000 }).then(() => {
      closed = true;
    });
    const refused = connect({ host: address.host, port: address.port });
    const [refusal] = await once(refused, "error");
    assert.equal((refusal as NodeJS.ErrnoException).code, "ECONNREFUSED");
    assert.equal(closed, false, "close waits for the request in flight");

    handler.pending[0]!.resolve([Buffer.from("records")]);
    assert.deepEqual(await client.framesUntilClosed(), [Buffer.from("records")]);
    await closing;
    assert.equal(server.connectionCount, 0);
  });

  it("on close, cuts the connections still busy when the timeout expires", async (t) => {
    const handler = new ManualHandler();
    const { logger, lines } = capturingLogger();
    const { server, address } = await startServer(t, { handler, logger });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("never answered"));
    await handler.received(1);

    await server.close({ timeoutMs: 10 });
    assert.deepEqual(await client.framesUntilClosed(), []);
    assert.ok(handler.pending[0]!.connection.signal.aborted);
    assert.equal(lines.find(atLeast(LEVEL.warn))?.msg, "cutting connections still busy at shutdown");
  });

  it("closes at once when idle, and close can be called twice", async (t) => {
    const { server, address } = await startServer(t, { handler: echoHandler });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("x"));
    await client.nextFrame();
    const first = server.close();
    assert.equal(server.close(), first);
    await first;
    await client.closed;
  });
});
