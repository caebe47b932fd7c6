// The recording proxy behind the byte-exact fixtures: it must forward traffic untouched and
// split both directions into whole frames however TCP chunks them, pairing each response
// with its request. Checked against the embedded broker, so it needs no third-party client.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";
import { API_CODECS, decodeResponseFrame, encodeRequestFrame } from "../../src/protocol/frames.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { type RecordingProxy, startRecordingProxy } from "../helpers/recording-proxy.js";

describe("recording proxy", () => {
  let proxy: RecordingProxy;
  let broker: TestBroker;

  before(async () => {
    proxy = await startRecordingProxy();
    broker = await startBroker();
    proxy.forwardTo({ host: broker.host, port: broker.port });
  });
  after(async () => {
    await proxy.close();
    await broker.stop();
  });

  it("records pipelined and byte-by-byte frames with their responses, forwarding them unchanged", async () => {
    const apiVersions = Buffer.concat(
      encodeRequestFrame(API_CODECS.ApiVersions, 3, 7, "proxy-test", {
        clientSoftwareName: "brook-test",
        clientSoftwareVersion: "1",
      }),
    );
    const metadata = Buffer.concat(
      encodeRequestFrame(API_CODECS.Metadata, 12, 8, "proxy-test", {
        topics: null,
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      }),
    );
    // acks=0: no response, so the exchange must stay without one.
    const produceWithoutResponse = Buffer.concat(
      encodeRequestFrame(API_CODECS.Produce, 9, 9, "proxy-test", { acks: 0, timeoutMs: 1000, topicData: [] }),
    );

    const socket = connect(proxy.port, proxy.host);
    await once(socket, "connect");
    const responses: Buffer[] = [];
    const responseFrames = new FrameDecoder(1 << 20);
    const bothAnswered = new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        responseFrames.push(chunk);
        for (let frame = responseFrames.next(); frame; frame = responseFrames.next()) responses.push(frame);
        if (responses.length === 2) resolve();
      });
    });
    // The frame without a response goes first: once the last response is back, the proxy has
    // necessarily seen every request before it.
    for (const byte of produceWithoutResponse) socket.write(Buffer.of(byte));
    socket.write(Buffer.concat([apiVersions, metadata]));
    await bothAnswered;
    socket.end();

    assert.deepEqual(proxy.problems, []);
    assert.deepEqual(
      proxy.exchanges.map((e) => [e.connection, e.apiKey, e.apiVersion, e.correlationId]),
      [
        [0, 0, 9, 9],
        [0, 18, 3, 7],
        [0, 3, 12, 8],
      ],
    );
    const [recordedProduce, recordedApiVersions, recordedMetadata] = proxy.exchanges;
    assert.deepEqual(recordedApiVersions?.request, apiVersions);
    assert.deepEqual(recordedMetadata?.request, metadata);
    assert.deepEqual(recordedProduce?.request, produceWithoutResponse);
    assert.equal(recordedProduce?.response, null);

    // What the client received is what was recorded, size prefix included.
    assert.deepEqual(recordedApiVersions?.response?.subarray(4), responses[0]);
    assert.deepEqual(recordedMetadata?.response?.subarray(4), responses[1]);
    const { correlationId, body } = decodeResponseFrame(responses[1] as Buffer, 3, 12);
    assert.equal(correlationId, 8);
    assert.equal(API_CODECS.Metadata.decodeResponse(body, 12).brokers[0]?.nodeId, 1);
  });
});
