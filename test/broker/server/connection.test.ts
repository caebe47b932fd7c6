import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConnectionContext, FrameHandler } from "../../../src/broker/server/frame-handler.js";
import { framed, sizePrefix } from "../../helpers/framing.js";
import {
  capturingLogger,
  echoHandler,
  LEVEL,
  ManualHandler,
  numberedPayloads,
  RecordingObserver,
  startServer,
  TestClient,
} from "./helpers.js";

/** Lets the event loop run through one full turn (timers, I/O, immediates). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Connection", () => {
  it("delivers frames split at every byte boundary, exactly and in order", async (t) => {
    const { address } = await startServer(t, { handler: echoHandler });
    const client = await TestClient.connect(t, address);
    const payloads = [Buffer.from("first"), Buffer.alloc(0), Buffer.from("the third one")];
    const stream = Buffer.concat(payloads.map(framed));
    for (let i = 0; i < stream.length; i++) {
      await new Promise<void>((resolve) => client.socket.write(stream.subarray(i, i + 1), () => resolve()));
    }
    assert.deepEqual(await client.nextFrames(payloads.length), payloads);
  });

  it("delivers many frames that arrive in one chunk, in order", async (t) => {
    const { address } = await startServer(t, { handler: echoHandler });
    const client = await TestClient.connect(t, address);
    const payloads = numberedPayloads(500);
    client.send(...payloads);
    assert.deepEqual(await client.nextFrames(payloads.length), payloads);
  });

  it("calls the handler for each frame without waiting, and writes responses in request order", async (t) => {
    const handler = new ManualHandler();
    const { address } = await startServer(t, { handler });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("slow"), Buffer.from("medium"), Buffer.from("fast"));
    // All three are in the handler's hands while none has finished.
    await handler.received(3);
    const [slow, medium, fast] = handler.pending;
    fast!.resolve([Buffer.from("fast answer")]);
    medium!.resolve([Buffer.from("medium "), Buffer.from("answer")]);
    slow!.resolve([Buffer.from("slow answer")]);
    assert.deepEqual(await client.nextFrames(3), [
      Buffer.from("slow answer"),
      Buffer.from("medium answer"),
      Buffer.from("fast answer"),
    ]);
  });

  it("writes nothing for a null response, and later responses still come in order", async (t) => {
    const handler = new ManualHandler();
    const { address } = await startServer(t, { handler });
    const client = await TestClient.connect(t, address);
    client.send(...numberedPayloads(4));
    await handler.received(4);
    const [a, b, c, d] = handler.pending;
    d!.resolve([Buffer.from("d")]);
    b!.resolve(null);
    c!.resolve([Buffer.from("c")]);
    a!.resolve(null);
    assert.deepEqual(await client.nextFrames(2), [Buffer.from("c"), Buffer.from("d")]);
    // Only the two frames: 4-byte prefix + 1 byte each.
    assert.equal(client.bytesReceived, 10);
  });

  it("coalesces the responses to pipelined requests into few socket writes", async (t) => {
    const handlers: Record<string, FrameHandler> = {
      synchronous: echoHandler,
      asynchronous: { handleFrame: async (frame) => [frame] },
    };
    for (const [kind, handler] of Object.entries(handlers)) {
      const observer = new RecordingObserver();
      const { address } = await startServer(t, { handler, observer });
      const client = await TestClient.connect(t, address);
      const payloads = numberedPayloads(200);
      client.send(...payloads);
      assert.deepEqual(await client.nextFrames(payloads.length), payloads, kind);
      assert.equal(observer.responses, payloads.length);
      assert.ok(observer.writes < payloads.length / 10, `${kind}: ${observer.writes} writes for 200 responses`);
    }
  });

  it("stops serving a client that does not read its responses, and resumes when it reads", async (t) => {
    // Far more than the kernel's socket buffers can absorb, so the write cannot drain unread.
    const big = Buffer.alloc(16 * 1024 * 1024, 1);
    let bigRequests = 0;
    const handler: FrameHandler = {
      handleFrame(frame) {
        if (!frame.toString().startsWith("big")) return [frame];
        bigRequests++;
        return [frame, big];
      },
    };
    const observer = new RecordingObserver();
    const { address } = await startServer(t, { handler, observer });
    const reader = await TestClient.connect(t, address);
    const other = await TestClient.connect(t, address);

    reader.socket.pause();
    reader.send(Buffer.from("big-0"), Buffer.from("big-1"), Buffer.from("big-2"));
    await observer.until(() => observer.writes >= 1);
    // Several round trips on another connection give the server every chance to go on.
    for (let i = 0; i < 3; i++) {
      other.send(Buffer.from(`ping-${i}`));
      assert.deepEqual(await other.nextFrame(), Buffer.from(`ping-${i}`));
    }
    assert.equal(bigRequests, 1, "requests behind an unread response must wait");

    reader.socket.resume();
    const frames = await reader.nextFrames(3);
    assert.deepEqual(
      frames.map((frame) => frame.subarray(0, 5).toString()),
      ["big-0", "big-1", "big-2"],
    );
    for (const frame of frames) assert.equal(frame.length, 5 + big.length);
    assert.equal(bigRequests, 3);
  });

  it("drops the pending results of a client that disconnects, without unhandled errors", async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    t.after(() => process.off("unhandledRejection", onUnhandled));
    const handler = new ManualHandler();
    const observer = new RecordingObserver();
    const { logger, lines } = capturingLogger();
    const { server, address } = await startServer(t, { handler, observer, logger });
    const client = await TestClient.connect(t, address);

    client.send(...numberedPayloads(3));
    await handler.received(3);
    client.socket.destroy();
    await observer.until(() => observer.closed.length === 1);
    const [first, second, third] = handler.pending;
    assert.ok(first!.connection.signal.aborted, "parked requests learn that their connection is gone");

    first!.resolve([Buffer.from("too late")]);
    second!.reject(new Error("failed after the client left"));
    third!.resolve(null);
    await nextTurn();
    await nextTurn();
    assert.deepEqual(unhandled, []);
    assert.equal(observer.writes, 0);
    assert.equal(server.connectionCount, 0);
    assert.deepEqual(
      lines.filter((line) => line.level >= LEVEL.warn),
      [],
    );
  });

  it("forgets a client that disconnects in the middle of a frame", async (t) => {
    const handler = new ManualHandler();
    const observer = new RecordingObserver();
    const { logger, lines } = capturingLogger();
    const { server, address } = await startServer(t, { handler, observer, logger });
    const client = await TestClient.connect(t, address);

    client.socket.write(Buffer.concat([sizePrefix(100), Buffer.alloc(10)]));
    await observer.until(() => observer.totalBytesRead === 14);
    client.socket.destroy();
    await observer.until(() => observer.closed.length === 1);
    assert.equal(handler.pending.length, 0);
    assert.equal(server.connectionCount, 0);
    assert.deepEqual(
      lines.filter((line) => line.level >= LEVEL.warn),
      [],
    );
  });

  it("logs a connection reset at debug level, not as an error", async (t) => {
    const observer = new RecordingObserver();
    const { logger, lines } = capturingLogger();
    const { address } = await startServer(t, { handler: new ManualHandler(), observer, logger });
    const client = await TestClient.connect(t, address);
    client.send(Buffer.from("never answered"));
    await observer.until(() => observer.totalBytesRead > 0);
    client.socket.resetAndDestroy();
    await observer.until(() => observer.closed.length === 1);
    assert.deepEqual(
      lines.filter((line) => line.level >= LEVEL.warn),
      [],
    );
    const reset = lines.find((line) => line.msg === "socket error");
    assert.equal(reset?.level, LEVEL.debug);
    assert.equal((reset?.err as { code?: string } | undefined)?.code, "ECONNRESET");
  });

  it("gives each connection its id, peer address and own state", async (t) => {
    const seen: ConnectionContext<{ requests: number }>[] = [];
    const handler: FrameHandler<{ requests: number }> = {
      handleFrame(_frame, connection) {
        connection.state ??= { requests: 0 };
        connection.state.requests++;
        seen.push(connection);
        return [Buffer.from(`${connection.id}:${connection.state.requests}`)];
      },
    };
    const { address } = await startServer(t, { handler });
    const one = await TestClient.connect(t, address);
    const two = await TestClient.connect(t, address);
    one.send(Buffer.from("a"), Buffer.from("b"));
    const [firstOfOne, secondOfOne] = (await one.nextFrames(2)).map(String);
    two.send(Buffer.from("c"));
    const [firstOfTwo] = (await two.nextFrames(1)).map(String);

    const idOfOne = seen[0]!.id;
    const idOfTwo = seen[2]!.id;
    assert.notEqual(idOfOne, idOfTwo);
    assert.deepEqual([firstOfOne, secondOfOne, firstOfTwo], [`${idOfOne}:1`, `${idOfOne}:2`, `${idOfTwo}:1`]);
    assert.equal(seen[0]!.remoteAddress, "127.0.0.1");
    assert.equal(seen[0]!.remotePort, one.socket.localPort);
    assert.equal(seen[2]!.remotePort, two.socket.localPort);
  });
});
