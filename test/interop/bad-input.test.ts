// Bad input against a real brook process: oversized, garbage, truncated and unsupported requests
// and clients that vanish mid-request each affect only their own connection, are logged where
// a connection is closed for them, and leave the process serving everyone else.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ApiCodec } from "../../src/protocol/codec-support.js";
import { encodeRequestFrame } from "../../src/protocol/frames.js";
import { API_CODECS, type ProduceRequestInput } from "../../src/protocol/generated/index.js";
import { Reader } from "../../src/protocol/reader.js";
import { encodeRecordBatch } from "../../src/protocol/records/encode-record-batch.js";
import { type BrokerProcess, startBrokerProcess } from "../helpers/broker-process.js";
import { sizePrefix } from "../helpers/framing.js";
import { LOG_LEVEL, logLines, waitForLog } from "../helpers/interop-broker-log.js";
import { kafkajsClient } from "../helpers/interop-kafkajs.js";
import { RawSocket } from "../helpers/interop-raw-socket.js";

const MAX_REQUEST_SIZE = 100 * 1024 * 1024;
const TOPIC = "bad-input";
const GROUP = "bad-input-group";
const UNSUPPORTED_VERSION = 35;
/** Where the correlation id sits in a frame: after the size prefix, api key and version. */
const CORRELATION_ID_AT = 8;

let lastCorrelationId = 0;

/** One request frame, size prefix included, encoded with the project's codecs. */
function encode<Request>(codec: ApiCodec<unknown, unknown, Request>, version: number, body: Request): Buffer {
  const chunks = encodeRequestFrame(codec as ApiCodec<Request, unknown>, version, ++lastCorrelationId, "bad", body);
  return Buffer.concat(chunks);
}

/** The same frame with its request cut to `length` bytes, and a size prefix that says so. */
function cutFrame(frame: Buffer, length: number): Buffer {
  return Buffer.concat([sizePrefix(length), frame.subarray(4, 4 + length)]);
}

async function produceRequest(partition: number): Promise<ProduceRequestInput> {
  const records = await encodeRecordBatch({
    records: [
      { key: Buffer.from("key"), value: Buffer.from("value"), headers: [{ key: "h", value: Buffer.from("v") }] },
    ],
  });
  return { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] };
}

/** Valid requests of many APIs and versions: what the mutation test damages. */
async function seedRequests(): Promise<Buffer[]> {
  const produce = await produceRequest(0);
  const fetchTopics = [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }];
  const listOffsetsTopics = [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1 }] }];
  const commitTopics = [
    { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: "" }] },
  ];
  const protocols = [{ name: "range", metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 9, ...Buffer.from(TOPIC)]) }];
  return [
    encode(API_CODECS.ApiVersions, 3, { clientSoftwareName: "fuzz", clientSoftwareVersion: "1.0" }),
    encode(API_CODECS.Metadata, 1, { topics: [{ name: TOPIC }] }),
    encode(API_CODECS.Metadata, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false }),
    encode(API_CODECS.Produce, 3, produce),
    encode(API_CODECS.Produce, 9, produce),
    encode(API_CODECS.Fetch, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 1, topics: fetchTopics }),
    encode(API_CODECS.Fetch, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 1, topics: fetchTopics }),
    encode(API_CODECS.ListOffsets, 1, { replicaId: -1, topics: listOffsetsTopics }),
    encode(API_CODECS.ListOffsets, 7, { replicaId: -1, topics: listOffsetsTopics }),
    encode(API_CODECS.FindCoordinator, 0, { key: GROUP }),
    encode(API_CODECS.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [GROUP] }),
    encode(API_CODECS.JoinGroup, 5, {
      groupId: GROUP,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "",
      protocolType: "consumer",
      protocols,
    }),
    encode(API_CODECS.OffsetCommit, 2, { groupId: GROUP, generationIdOrMemberEpoch: -1, topics: commitTopics }),
    encode(API_CODECS.OffsetCommit, 8, { groupId: GROUP, generationIdOrMemberEpoch: -1, topics: commitTopics }),
    encode(API_CODECS.OffsetFetch, 1, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] }),
    encode(API_CODECS.OffsetFetch, 8, { groups: [{ groupId: GROUP, topics: null }] }),
    encode(API_CODECS.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 }),
    encode(API_CODECS.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }],
    }),
    encode(API_CODECS.SyncGroup, 5, { groupId: GROUP, generationId: 1, memberId: "m", assignments: [] }),
  ];
}

/** A small, seedable PRNG (mulberry32), so a failing mutation can be replayed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Length and count fields are where parsers go wrong: these are the values to plant in them. */
const BOUNDARY_INT32S = [0, -1, -2, 1, 0x7fffffff, -0x80000000, 0xffff, 0x10000];

/**
 * Damages a request past its api key and version (those decide only whether the connection is
 * closed at once, which other tests cover): flipped bytes, a boundary value planted as an int32,
 * or a cut. The size prefix always matches what is sent, so every case is one complete frame.
 */
function mutate(frame: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const firstMutable = CORRELATION_ID_AT;
  const mutated = Buffer.from(frame);
  switch (pick(3)) {
    case 0:
      for (let flips = 1 + pick(4); flips > 0; flips--) {
        mutated[firstMutable + pick(mutated.length - firstMutable)]! ^= 1 << pick(8);
      }
      return mutated;
    case 1: {
      const at = firstMutable + pick(mutated.length - firstMutable - 4);
      mutated.writeInt32BE(BOUNDARY_INT32S[pick(BOUNDARY_INT32S.length)]!, at);
      return mutated;
    }
    default:
      return cutFrame(mutated, firstMutable - 4 + pick(mutated.length - firstMutable));
  }
}

describe("bad input against a brook process", { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  /** Connected first and used between the bad clients: it must keep working throughout. */
  let bystander: RawSocket;

  const connect = () => RawSocket.connect(broker.host, broker.port);

  async function assertServes(socket: RawSocket): Promise<void> {
    const request = encode(API_CODECS.ApiVersions, 0, {});
    socket.write(request);
    const answer = await socket.nextFrame();
    assert.ok(answer, "the connection answered");
    assert.equal(answer.readInt32BE(0), request.readInt32BE(CORRELATION_ID_AT));
    assert.equal(answer.readInt16BE(4), 0, "ApiVersions error code");
  }

  /** Sends the bytes on a new connection and waits for the broker to close it without answering. */
  async function assertClosesConnection(bytes: Buffer): Promise<void> {
    const socket = await connect();
    socket.write(bytes);
    assert.equal(await socket.nextFrame(), undefined, "closed without an answer");
    await socket.closed;
  }

  before(async () => {
    // Info level: connections closed for bad requests are logged there.
    broker = await startBrokerProcess({ args: ["--log-level", "info"] });
    bystander = await connect();
    await assertServes(bystander);
    // The topic the mutated requests aim at exists, so they get past the topic lookup.
    bystander.write(encode(API_CODECS.Metadata, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: true }));
    assert.ok(await bystander.nextFrame());
  });

  after(async () => {
    bystander?.destroy();
    await broker?.destroy();
  });

  test("a size prefix over 100 MiB closes that connection at once, with a log line", async () => {
    // Only the prefix and a few bytes: the broker must not wait for 100 MiB to arrive.
    await assertClosesConnection(Buffer.concat([sizePrefix(MAX_REQUEST_SIZE + 1), Buffer.alloc(16)]));
    const line = await waitForLog(broker, (l) => l.size === MAX_REQUEST_SIZE + 1);
    assert.equal(line.level, LOG_LEVEL.warn);
    assert.equal(line.maxRequestSize, MAX_REQUEST_SIZE);
    await assertServes(bystander);
  });

  test("a negative size prefix and an empty frame close their connections", async () => {
    await assertClosesConnection(Buffer.concat([sizePrefix(-1), Buffer.alloc(16)]));
    await assertClosesConnection(sizePrefix(0));
    await assertServes(bystander);
  });

  test("a complete frame holding a truncated request closes that connection, with a log line", async () => {
    const metadata = encode(API_CODECS.Metadata, 1, { topics: [{ name: "some-topic" }] });
    await assertClosesConnection(cutFrame(metadata, metadata.length - 4 - 3));
    const line = await waitForLog(broker, (l) => String(l.reason).includes("Metadata v1"));
    assert.equal(line.level, LOG_LEVEL.info);
    assert.match(String(line.reason), /malformed/);
    await assertServes(bystander);
  });

  test("an unknown API key or unsupported version closes the connection; a too-new ApiVersions is answered", async () => {
    const unknownKey = encode(API_CODECS.Metadata, 1, { topics: null });
    unknownKey.writeInt16BE(999, 4);
    await assertClosesConnection(unknownKey);
    const tooNewMetadata = encode(API_CODECS.Metadata, 1, { topics: null });
    tooNewMetadata.writeInt16BE(99, 6);
    await assertClosesConnection(tooNewMetadata);

    const socket = await connect();
    // A future client's request: flexible like v3 (header v2), at a version we do not know.
    const tooNewApiVersions = encode(API_CODECS.ApiVersions, 3, {
      clientSoftwareName: "next",
      clientSoftwareVersion: "9",
    });
    tooNewApiVersions.writeInt16BE(99, 6);
    socket.write(tooNewApiVersions);
    const answer = await socket.nextFrame();
    assert.ok(answer);
    assert.equal(answer.readInt16BE(4), UNSUPPORTED_VERSION);
    // The client retries at a lower version on the same connection.
    await assertServes(socket);
    socket.destroy();
    await assertServes(bystander);
  });

  test("mutated requests of every kind close or answer their own connection only", async () => {
    const seeds = await seedRequests();
    const random = mulberry32(0xb100c);
    const outcomes = { answered: 0, closed: 0, parked: 0 };
    const runCase = async () => {
      const mutated = mutate(seeds[Math.floor(random() * seeds.length)]!, random);
      const socket = await connect();
      socket.write(mutated);
      // A mutation may turn a request into one that legitimately waits (a Fetch's max wait, a
      // JoinGroup's rebalance): those are left after a while, the rest answer or close at once.
      let parkTimer: NodeJS.Timeout | undefined;
      const parked = new Promise<"parked">((resolve) => {
        parkTimer = setTimeout(() => resolve("parked"), 2000);
      });
      const outcome = await Promise.race([socket.nextFrame(), parked]);
      clearTimeout(parkTimer);
      socket.destroy();
      if (outcome === "parked") outcomes.parked++;
      else if (outcome === undefined) outcomes.closed++;
      else {
        outcomes.answered++;
        assert.equal(outcome.readInt32BE(0), mutated.readInt32BE(CORRELATION_ID_AT), "the answer's correlation id");
      }
    };
    // Ten connections at a time, one mutated request each.
    for (let done = 0; done < 400; done += 10) await Promise.all(Array.from({ length: 10 }, runCase));
    assert.ok(outcomes.closed > 0 && outcomes.answered > 0, `both outcomes occur: ${JSON.stringify(outcomes)}`);
    await assertServes(bystander);
  });

  test("clients that vanish mid-request do not disturb others", async () => {
    // Half a frame, then a clean close.
    const halfFrame = await connect();
    halfFrame.write(Buffer.concat([sizePrefix(100), Buffer.alloc(50)]));
    halfFrame.end();
    await halfFrame.closed;

    // Half a produce request, then a reset.
    const produce = encode(API_CODECS.Produce, 9, await produceRequest(0));
    const reset = await connect();
    reset.write(produce.subarray(0, produce.length >> 1));
    reset.reset();
    await reset.closed;

    // A long-poll fetch at the end of a partition with a request queued behind it, abandoned
    // while it waits for data. Sent before the bystander's round trip, it is parked by the time
    // it is abandoned; the broker must cope either way.
    const abandoned = await connect();
    const end = await logEnd(abandoned, 0);
    abandoned.write(
      encode(API_CODECS.Fetch, 12, {
        replicaId: -1,
        maxWaitMs: 30_000,
        minBytes: 1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: end, partitionMaxBytes: 1 << 20 }] }],
      }),
    );
    abandoned.write(encode(API_CODECS.ApiVersions, 0, {}));
    await assertServes(bystander);
    abandoned.destroy();
    await abandoned.closed;

    // Many pipelined requests, then gone without reading a single answer.
    const impatient = await connect();
    for (let i = 0; i < 200; i++) impatient.write(encode(API_CODECS.Metadata, 12, { topics: null }));
    impatient.destroy();
    await impatient.closed;

    // The append that would have woken the abandoned fetch, from the bystander.
    const append = encode(API_CODECS.Produce, 9, await produceRequest(0));
    bystander.write(append);
    const answer = await bystander.nextFrame();
    assert.ok(answer, "produce answered");
    assert.equal(answer.readInt32BE(0), append.readInt32BE(CORRELATION_ID_AT));
    assert.equal(await logEnd(bystander, 0), end + 1);
    await assertServes(bystander);
  });

  test("after all of it the process is alive, logged no internal error, and real clients work", async () => {
    assert.equal(broker.child.exitCode, null);
    assert.equal(broker.child.signalCode, null);
    const kafka = kafkajsClient(broker.bootstrap, "bad-input-survivor");
    const producer = kafka.producer();
    await producer.connect();
    try {
      const [ack] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 0, value: "still here" }] });
      assert.equal(ack!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
    const internalErrors = logLines(broker).filter((line) => line.level >= LOG_LEVEL.error);
    assert.deepEqual(internalErrors, [], "no request made the broker log an internal error");
  });
});

/** The partition's high watermark, by ListOffsets v1 (latest). */
async function logEnd(socket: RawSocket, partition: number): Promise<number> {
  const request = encode(API_CODECS.ListOffsets, 1, {
    replicaId: -1,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, timestamp: -1 }] }],
  });
  socket.write(request);
  const answer = await socket.nextFrame();
  assert.ok(answer, "ListOffsets answered");
  const response = API_CODECS.ListOffsets.decodeResponse(new Reader(answer, 4), 1);
  const result = response.topics[0]!.partitions[0]!;
  assert.equal(result.errorCode, 0);
  return result.offset;
}
