import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { Cluster } from "../../src/client/cluster.js";
import { BrookError } from "../../src/client/errors.js";
import type { ClientOptions } from "../../src/client/options.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { encodeResponsePayload, responseHeaderVersion } from "../../src/protocol/frames.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { Reader } from "../../src/protocol/reader.js";
import { startBroker, type TestBroker, type TestBrokerOptions } from "../../src/testing/index.js";
import { type FrameInfo, type KafkaProxyOptions, startProxiedBroker } from "./helpers/kafka-proxy.js";

const FAST_RETRY = { timeoutMs: 2000, initialDelayMs: 10, maxDelayMs: 50 };

/** A response payload (header and body, no size prefix) for a request seen by the proxy. */
function responsePayload(info: FrameInfo, api: keyof typeof API_CODECS, body: unknown, version = info.apiVersion) {
  const codec = API_CODECS[api] as (typeof API_CODECS)["Metadata"];
  return Buffer.concat(
    encodeResponsePayload(info.apiKey, version, info.correlationId, (w) =>
      codec.encodeResponse(w, version, body as never),
    ),
  );
}

/** A proxied broker stopped when the test ends, pass or fail. */
async function gatewayFor(t: TestContext, proxyOptions?: KafkaProxyOptions, brokerOptions?: TestBrokerOptions) {
  const gateway = await startProxiedBroker(proxyOptions, brokerOptions);
  t.after(() => gateway.stop());
  return gateway;
}

/** A cluster closed when the test ends. */
function clusterFor(t: TestContext, options: ClientOptions): Cluster {
  const cluster = new Cluster(options);
  t.after(() => cluster.close());
  return cluster;
}

/** Decodes a response seen by the proxy, lets `change` edit it, and encodes it again. */
function rewritten<N extends keyof typeof API_CODECS>(
  info: FrameInfo,
  payload: Buffer,
  api: N,
  change: (response: ReturnType<(typeof API_CODECS)[N]["decodeResponse"]>) => void,
) {
  const headerBytes = responseHeaderVersion(info.apiKey, info.apiVersion) === 1 ? 5 : 4;
  const codec = API_CODECS[api] as (typeof API_CODECS)["Metadata"];
  const response = codec.decodeResponse(new Reader(payload, headerBytes), info.apiVersion);
  change(response as never);
  return { replace: responsePayload(info, api, response) };
}

describe("Cluster", () => {
  let broker: TestBroker;

  before(async () => {
    broker = await startBroker({ defaultPartitions: 3 });
  });
  after(async () => {
    await broker.stop();
  });

  it("negotiates the highest version both sides know, per API", async (t) => {
    const cluster = clusterFor(t, { brokers: [broker.bootstrap] });
    await cluster.connect();
    const node = [...cluster.metadata.brokers.keys()][0] as number;
    const session = await cluster.sessionForNode(node);
    assert.equal(session.version("Produce"), API_CODECS.Produce.maxVersion);
    assert.equal(session.version("Metadata", { maxVersion: 4 }), 4);
    assert.equal(session.brokerRange("Fetch")?.[1], API_CODECS.Fetch.maxVersion);
  });

  it("retries ApiVersions at a lower version when the broker answers UNSUPPORTED_VERSION with a v0 body", async (t) => {
    const gateway = await gatewayFor(t, {
      onRequest(info) {
        if (info.apiKey !== API_CODECS.ApiVersions.apiKey || info.apiVersion < 3) return undefined;
        // What Kafka does for a version it does not know: a v0 body naming its own range.
        return {
          respond: responsePayload(
            info,
            "ApiVersions",
            { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }] },
            0,
          ),
        };
      },
    });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap] });
    await cluster.connect();
    const versions = gateway.proxy.requests.filter((r) => r.apiKey === 18).map((r) => r.apiVersion);
    assert.deepEqual(versions.slice(0, 2), [3, 2]);
  });

  it("fails clearly when broker and client share no version of an API", async (t) => {
    const gateway = await gatewayFor(t, {
      onResponse(info, payload) {
        if (info.apiKey !== API_CODECS.ApiVersions.apiKey) return undefined;
        return rewritten(info, payload, "ApiVersions", (response) => {
          const produce = response.apiKeys.find((k) => k.apiKey === 0);
          if (produce) produce.maxVersion = 2;
        });
      },
    });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap] });
    await cluster.connect();
    const session = await cluster.sessionForNode(1);
    assert.throws(
      () => session.version("Produce", { minVersion: 3 }),
      (error: BrookError) =>
        error.code === "BROOK_UNSUPPORTED_VERSION" && /client speaks v3–v9, broker .* v0–v2/.test(error.message),
    );
  });

  it("keeps metadata of brokers, topics and partition leaders, and merges concurrent refreshes", async (t) => {
    const gateway = await gatewayFor(t, {}, { defaultPartitions: 3 });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap] });
    const [topic] = await cluster.topics(["meta-a"], { allowAutoTopicCreation: true });
    assert.equal(topic?.partitions.length, 3);
    assert.equal(cluster.leaderFor("meta-a", 2), 1);
    assert.equal(cluster.metadata.brokers.get(1)?.port, gateway.proxy.port);
    const before = gateway.proxy.requests.filter((r) => r.apiKey === 3).length;
    await Promise.all([cluster.refreshMetadata(["meta-a"]), cluster.refreshMetadata(["meta-a"])]);
    assert.equal(gateway.proxy.requests.filter((r) => r.apiKey === 3).length, before + 1);
    assert.throws(() => cluster.leaderFor("meta-a", 7), { code: "BROOK_UNKNOWN_PARTITION" });
  });

  it("says a topic does not exist when auto-creation is off", async (t) => {
    const strict = await startBroker({ autoCreateTopics: false });
    t.after(() => strict.stop());
    const cluster = clusterFor(t, { brokers: [strict.bootstrap], retry: FAST_RETRY });
    await assert.rejects(cluster.topics(["nope"], { allowAutoTopicCreation: true }), (error: BrookError) => {
      assert.equal(error.code, "BROOK_UNKNOWN_TOPIC");
      assert.equal(error.kafkaName, "UNKNOWN_TOPIC_OR_PARTITION");
      assert.equal(error.kafkaCode, 3);
      assert.equal(error.message, "topic 'nope' does not exist");
      return true;
    });
    const lenient = clusterFor(t, { brokers: [broker.bootstrap], retry: FAST_RETRY });
    await assert.rejects(lenient.topics(["bad name!"], { allowAutoTopicCreation: true }), {
      code: "INVALID_TOPIC_EXCEPTION",
      message: "'bad name!' is not a valid topic name",
    });
  });

  for (const failure of ["NOT_LEADER_OR_FOLLOWER", "a lost connection"] as const) {
    it(`refreshes metadata after ${failure} and retries`, async (t) => {
      let refusals = 1;
      const gateway = await gatewayFor(t, {
        onResponse(info, payload) {
          if (info.apiKey !== API_CODECS.ListOffsets.apiKey || refusals-- <= 0) return undefined;
          if (failure === "a lost connection") return "close";
          return rewritten(info, payload, "ListOffsets", (response) => {
            response.topics[0]!.partitions[0]!.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          });
        },
      });
      const cluster = clusterFor(t, { brokers: [gateway.bootstrap], retry: FAST_RETRY });
      await cluster.topics(["leader-moves"], { allowAutoTopicCreation: true });
      const metadataRequests = () => gateway.proxy.requests.filter((r) => r.apiKey === 3).length;
      const before = metadataRequests();
      let attempts = 0;
      const offset = await cluster.retry(async () => {
        attempts++;
        const response = await cluster.request(cluster.leaderFor("leader-moves", 0), "ListOffsets", () => ({
          replicaId: -1,
          topics: [{ name: "leader-moves", partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
        }));
        const partition = response.topics[0]?.partitions[0];
        if (partition?.errorCode) throw BrookError.fromKafkaCode(partition.errorCode, "ListOffsets");
        return partition?.offset;
      });
      assert.equal(offset, 0);
      assert.equal(attempts, 2);
      assert.ok(metadataRequests() > before, `${failure} refreshed the metadata`);
    });
  }

  it("caches the group coordinator and looks it up again after NOT_COORDINATOR", async (t) => {
    let notCoordinator = 1;
    const gateway = await gatewayFor(t, {
      onResponse(info, payload) {
        if (info.apiKey !== API_CODECS.OffsetFetch.apiKey || notCoordinator-- <= 0) return undefined;
        return rewritten(info, payload, "OffsetFetch", (response) => {
          response.groups[0]!.errorCode = ErrorCode.NOT_COORDINATOR;
        });
      },
    });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap], retry: FAST_RETRY });
    const fetchOffsets = () =>
      cluster.retry(() =>
        cluster.coordinatorRequest(
          "group-1",
          "OffsetFetch",
          () => ({ groups: [{ groupId: "group-1", topics: null }], requireStable: false }),
          { minVersion: 8, errorCodeOf: (response) => response.groups[0]?.errorCode ?? 0 },
        ),
      );
    await fetchOffsets();
    await fetchOffsets();
    const lookups = gateway.proxy.requests.filter((r) => r.apiKey === API_CODECS.FindCoordinator.apiKey).length;
    assert.equal(lookups, 2, "one lookup, and one more after NOT_COORDINATOR");
    assert.equal((await cluster.findCoordinator("group-1")).port, gateway.proxy.port);
  });

  it("reconnects after the broker closes the connection", async (t) => {
    const gateway = await gatewayFor(t);
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap], retry: FAST_RETRY });
    await cluster.connect();
    gateway.proxy.cutAll();
    await cluster.retry(() => cluster.refreshMetadata());
    const connections = new Set(gateway.proxy.requests.map((r) => r.connection));
    assert.ok(connections.size >= 2);
  });

  it("times out a request that gets no answer, and closes that connection", async (t) => {
    const gateway = await gatewayFor(t, {
      onRequest: (info) => (info.apiKey === API_CODECS.Metadata.apiKey && info.connection === 0 ? "drop" : undefined),
    });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap], requestTimeoutMs: 200, retry: FAST_RETRY });
    const started = Date.now();
    await assert.rejects(cluster.refreshMetadata(), (error: BrookError) => {
      assert.equal(error.code, "BROOK_REQUEST_TIMEOUT");
      assert.equal(error.retriable, true);
      assert.match(error.message, /Metadata to 127\.0\.0\.1:\d+ got no response within 200 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 1000);
    // The next request goes on a new connection, which answers.
    await cluster.refreshMetadata();
  });

  it("gives up on unreachable brokers with the addresses it tried", async (t) => {
    const cluster = clusterFor(t, {
      brokers: ["127.0.0.1:1", "127.0.0.1:2"],
      retry: { timeoutMs: 300, initialDelayMs: 20 },
    });
    const started = Date.now();
    await assert.rejects(cluster.connect(), (error: BrookError) => {
      assert.equal(error.code, "BROOK_CONNECTION_FAILED");
      assert.match(error.message, /^could not connect to any of 127\.0\.0\.1:[12], 127\.0\.0\.1:[12] \(/);
      assert.ok(error.cause instanceof BrookError);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it("rejects, without hanging, when the broker closes every connection", async (t) => {
    const gateway = await gatewayFor(t, { onRequest: () => "close" });
    const cluster = clusterFor(t, { brokers: [gateway.bootstrap], retry: { timeoutMs: 300, initialDelayMs: 20 } });
    await assert.rejects(cluster.connect(), (error: BrookError) => {
      assert.match(error.code, /^BROOK_CONNECTION_(CLOSED|FAILED)$/);
      return true;
    });
  });

  it("does not retry errors that are not retriable", async (t) => {
    const cluster = clusterFor(t, { brokers: [broker.bootstrap], retry: FAST_RETRY });
    let attempts = 0;
    await assert.rejects(
      cluster.retry(async () => {
        attempts++;
        throw BrookError.fromKafkaCode(ErrorCode.INVALID_PARTITIONS, "something");
      }),
      { code: "INVALID_PARTITIONS" },
    );
    assert.equal(attempts, 1);
  });

  it("rejects invalid options synchronously with BROOK_INVALID_OPTION", () => {
    const invalid: unknown[] = [
      {},
      { brokers: [] },
      { brokers: ["localhost"] },
      { brokers: ["localhost:99999"] },
      { brokers: ["a:1"], requestTimeoutMs: -5 },
      { brokers: ["a:1"], retry: { timeoutMs: "soon" } },
      { brokers: ["a:1"], sasl: { mechanism: "gssapi", username: "u", password: "p" } },
      { brokers: ["a:1"], tls: "yes" },
    ];
    for (const options of invalid) {
      assert.throws(() => new Cluster(options as never), { code: "BROOK_INVALID_OPTION" }, JSON.stringify(options));
    }
    assert.deepEqual(new Cluster({ brokers: "a:1, [::1]:9093" }).options.brokers, [
      { host: "a", port: 1 },
      { host: "::1", port: 9093 },
    ]);
  });

  it("rejects requests after close() with BROOK_CLOSED", async (t) => {
    const cluster = clusterFor(t, { brokers: [broker.bootstrap] });
    await cluster.connect();
    await cluster.close();
    await assert.rejects(cluster.refreshMetadata(), { code: "BROOK_CLOSED" });
  });
});
