// Byte-exact fixtures: frames that real clients (kcat/librdkafka 2.0.2, kafkajs 2.2.4) sent to a
// brook broker, and the broker's answers, recorded by scripts/record-fixtures.mjs. Every frame
// must decode consuming every byte and re-encode to exactly the recorded bytes; the key
// requests are also checked field by field against what the recording script told the
// clients to do. Needs nothing but the files under test/fixtures/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  type AnyApiCodec,
  API_CODECS,
  codecForKey,
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponsePayload,
} from "../../src/protocol/frames.js";
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../../src/protocol/generated/consumer-protocol-assignment.js";
import {
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from "../../src/protocol/generated/consumer-protocol-subscription.js";
import type { RequestHeader } from "../../src/protocol/generated/request-header.js";
import { Reader } from "../../src/protocol/reader.js";
import { decodeRecordBatches } from "../../src/protocol/records/decode-record-batches.js";
import type { KafkaRecord } from "../../src/protocol/records/record.js";
import { Writer } from "../../src/protocol/writer.js";
import { framed } from "../helpers/framing.js";

const FIXTURES_DIR = new URL("../../../test/fixtures/", import.meta.url);
const CLIENTS = ["kcat", "kafkajs"] as const;
type Client = (typeof CLIENTS)[number];

/** A message as the recording script described it: strings, null for a null key or value. */
interface ProducedMessage {
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

/** One entry of test/fixtures/<client>/index.json. */
interface FixtureEntry {
  file: string;
  kind: "request" | "response";
  api: string;
  apiKey: number;
  version: number;
  correlationId: number;
  clientId: string | null;
}

interface FixtureIndex {
  client: string;
  topic: string;
  produced: ProducedMessage[];
  fixtures: FixtureEntry[];
}

function loadIndex(client: Client): FixtureIndex {
  return JSON.parse(readFileSync(new URL(`${client}/index.json`, FIXTURES_DIR), "utf8")) as FixtureIndex;
}

const INDEXES = Object.fromEntries(CLIENTS.map((client) => [client, loadIndex(client)])) as Record<
  Client,
  FixtureIndex
>;

interface DecodedRequest {
  frame: Buffer;
  header: RequestHeader;
  // biome-ignore lint/suspicious/noExplicitAny: the shape depends on the api; tests narrow it.
  message: any;
}

interface DecodedResponse {
  frame: Buffer;
  correlationId: number;
  /** Bytes of the response header, i.e. where the body starts in the payload. */
  headerBytes: number;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  message: any;
}

function fixtureEntry(client: Client, api: string, kind: FixtureEntry["kind"]): FixtureEntry {
  const entry = INDEXES[client].fixtures.find((f) => f.api === api && f.kind === kind);
  assert.ok(entry, `${client} has a ${api} ${kind} fixture`);
  return entry;
}

function readFrame(client: Client, entry: FixtureEntry): Buffer {
  const frame = readFileSync(new URL(`${client}/${entry.file}`, FIXTURES_DIR));
  assert.equal(frame.readInt32BE(0), frame.length - 4, "the size prefix counts the bytes after it");
  return frame;
}

function codecOf(entry: FixtureEntry): AnyApiCodec {
  const codec = codecForKey(entry.apiKey);
  assert.ok(codec, `brook has a codec for api key ${entry.apiKey}`);
  assert.equal(codec.name, entry.api);
  return codec;
}

/** Decodes a recorded request frame, checking that the body decoder consumed every byte. */
function decodeRecordedRequest(client: Client, entry: FixtureEntry): DecodedRequest {
  const frame = readFrame(client, entry);
  const { header, body } = decodeRequestFrame(frame.subarray(4));
  const message = codecOf(entry).decodeRequest(body, header.requestApiVersion);
  assert.equal(body.remaining, 0, "the request decoder consumed every byte");
  return { frame, header, message };
}

function decodeRecordedResponse(client: Client, entry: FixtureEntry): DecodedResponse {
  const frame = readFrame(client, entry);
  const { correlationId, body } = decodeResponseFrame(frame.subarray(4), entry.apiKey, entry.version);
  const headerBytes = body.offset;
  const message = codecOf(entry).decodeResponse(body, entry.version);
  assert.equal(body.remaining, 0, "the response decoder consumed every byte");
  return { frame, correlationId, headerBytes, message };
}

const request = (client: Client, api: string) => decodeRecordedRequest(client, fixtureEntry(client, api, "request"));
const response = (client: Client, api: string) => decodeRecordedResponse(client, fixtureEntry(client, api, "response"));

/** Records reduced to the strings the recording script produced them from. */
function asProduced(records: KafkaRecord[]): ProducedMessage[] {
  const text = (b: Buffer | null) => (b === null ? null : b.toString("utf8"));
  return records.map((r) => ({
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map((h): [string, string | null] => [h.key, text(h.value)]),
  }));
}

async function recordsOf(batchBytes: Buffer): Promise<KafkaRecord[]> {
  const batches = await decodeRecordBatches(batchBytes);
  for (const batch of batches) {
    assert.equal(batch.magic, 2);
    assert.equal(batch.codec, 0, "the recording script produces uncompressed batches");
  }
  return batches.flatMap((b) => b.records);
}

describe("fixtures recorded from real clients", () => {
  for (const client of CLIENTS) {
    describe(INDEXES[client].client, () => {
      it("covers ApiVersions, Metadata, Produce and Fetch, request and response", () => {
        for (const api of ["ApiVersions", "Metadata", "Produce", "Fetch"]) {
          fixtureEntry(client, api, "request");
          fixtureEntry(client, api, "response");
        }
      });

      for (const entry of INDEXES[client].fixtures) {
        it(`${entry.file} decodes completely and re-encodes byte-exact`, () => {
          const codec = codecOf(entry);
          if (entry.kind === "request") {
            const { frame, header, message } = decodeRecordedRequest(client, entry);
            assert.deepEqual(
              [header.requestApiKey, header.requestApiVersion, header.correlationId, header.clientId],
              [entry.apiKey, entry.version, entry.correlationId, entry.clientId],
            );
            // encodeRequestFrame writes an empty header tag section; so do these clients.
            assert.equal(header.unknownTaggedFields, undefined);
            const reencoded = encodeRequestFrame(codec, entry.version, header.correlationId, header.clientId, message);
            assert.deepEqual(Buffer.concat(reencoded), frame);
          } else {
            const { frame, correlationId, message } = decodeRecordedResponse(client, entry);
            assert.equal(correlationId, entry.correlationId);
            const payload = encodeResponsePayload(entry.apiKey, entry.version, correlationId, (w) =>
              codec.encodeResponse(w, entry.version, message),
            );
            assert.deepEqual(framed(Buffer.concat(payload)), frame);
          }
        });
      }
    });
  }
});

describe("what the recorded frames say", () => {
  const { topic } = INDEXES.kcat;

  it("kcat: ApiVersions v3 is flexible and names librdkafka 2.0.2 (KIP-511)", () => {
    const { header, message } = request("kcat", "ApiVersions");
    assert.equal(header.requestApiVersion, 3);
    assert.equal(header.clientId, "rdkafka");
    assert.deepEqual(message, { clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2" });
  });

  it("kcat: the ApiVersions v3 response has response header v0 (no tag section) and the full ranges", () => {
    const { headerBytes, message } = response("kcat", "ApiVersions");
    assert.equal(headerBytes, 4, "just the correlation id");
    assert.equal(message.errorCode, 0);
    const advertised = new Map(
      message.apiKeys.map((k: { apiKey: number; minVersion: number; maxVersion: number }) => [
        k.apiKey,
        [k.minVersion, k.maxVersion],
      ]),
    );
    for (const codec of [API_CODECS.Produce, API_CODECS.Fetch, API_CODECS.Metadata, API_CODECS.ApiVersions]) {
      assert.deepEqual(advertised.get(codec.apiKey), [codec.minVersion, codec.maxVersion], codec.name);
    }
  });

  it("kafkajs: ApiVersions v2 carries no body fields; the response lists ApiVersions 0-3", () => {
    const { frame, header, message } = request("kafkajs", "ApiVersions");
    assert.equal(header.requestApiVersion, 2);
    assert.equal(header.clientId, "brook-fixtures");
    assert.equal(frame.length, 4 + 10 + "brook-fixtures".length, "size, header and nothing else");
    assert.deepEqual(message, { clientSoftwareName: "", clientSoftwareVersion: "" });
    const apiVersions = response("kafkajs", "ApiVersions").message.apiKeys.find(
      (k: { apiKey: number }) => k.apiKey === API_CODECS.ApiVersions.apiKey,
    );
    assert.deepEqual(apiVersions, { apiKey: 18, minVersion: 0, maxVersion: 3 });
  });

  for (const client of CLIENTS) {
    it(`${client}: Metadata asks for the topic and auto-creation; the answer has it with one partition led by broker 1`, () => {
      const asked = request(client, "Metadata").message;
      assert.deepEqual(
        asked.topics.map((t: { name: string }) => t.name),
        [topic],
      );
      assert.equal(asked.allowAutoTopicCreation, true);
      const answer = response(client, "Metadata").message;
      assert.deepEqual(
        answer.brokers.map((b: { nodeId: number; host: string }) => [b.nodeId, b.host]),
        [[1, "127.0.0.1"]],
      );
      const [described] = answer.topics;
      assert.equal(described.name, topic);
      assert.equal(described.errorCode, 0);
      assert.deepEqual(
        described.partitions.map((p: { partitionIndex: number; leaderId: number }) => [p.partitionIndex, p.leaderId]),
        [[0, 1]],
      );
    });

    it(`${client}: the Produce request carries, with acks=all, one batch of exactly the records produced`, async () => {
      const { frame, message } = request(client, "Produce");
      assert.equal(message.acks, -1);
      assert.equal(message.transactionalId, null);
      const [topicData] = message.topicData;
      assert.equal(topicData.name, topic);
      const [partitionData] = topicData.partitionData;
      assert.equal(partitionData.index, 0);
      const records: Buffer = partitionData.records;
      // Same memory, not just the same ArrayBuffer: small buffers share Node's allocation pool.
      assert.equal(records.buffer, frame.buffer);
      assert.ok(
        records.byteOffset >= frame.byteOffset &&
          records.byteOffset + records.length <= frame.byteOffset + frame.length,
        "the records are a view of the frame, not a copy",
      );
      const decoded = await recordsOf(records);
      assert.deepEqual(asProduced(decoded), INDEXES[client].produced);
      assert.deepEqual(
        decoded.map((r) => r.offsetDelta),
        decoded.map((_, i) => i),
      );
      const answer = response(client, "Produce").message.responses[0].partitionResponses[0];
      assert.equal(answer.errorCode, 0);
      assert.equal(answer.baseOffset, 0);
    });

    it(`${client}: Fetch asks from offset 0 and gets every produced record back at offsets 0..n-1`, async () => {
      const asked = request(client, "Fetch").message;
      assert.equal(asked.topics[0].topic, topic);
      assert.equal(asked.topics[0].partitions[0].fetchOffset, 0);
      assert.equal(asked.sessionEpoch, -1, "no fetch session (KIP-227)");
      const partition = response(client, "Fetch").message.responses[0].partitions[0];
      assert.equal(partition.errorCode, 0);
      const produced = INDEXES[client].produced;
      assert.equal(partition.highWatermark, produced.length);
      const records = await recordsOf(partition.records);
      assert.deepEqual(asProduced(records), produced);
      assert.deepEqual(
        records.map((r) => r.offset),
        produced.map((_, i) => i),
      );
    });

    it(`${client}: the group's subscription and assignment bytes are consumer protocol structures that round-trip`, () => {
      const roundTrip = (
        bytes: Buffer,
        decode: (r: Reader, version: number) => unknown,
        encode: (w: Writer, version: number, m: never) => void,
      ) => {
        const reader = new Reader(bytes);
        const version = reader.readInt16();
        const decoded = decode(reader, version);
        assert.equal(reader.remaining, 0);
        const w = new Writer();
        w.writeInt16(version);
        encode(w, version, decoded as never);
        assert.deepEqual(w.toBuffer(), bytes);
        return decoded as { topics?: string[]; assignedPartitions?: { topic: string; partitions: number[] }[] };
      };
      const join = request(client, "JoinGroup").message;
      assert.equal(join.protocolType, "consumer");
      for (const protocol of join.protocols) {
        const subscription = roundTrip(
          protocol.metadata,
          decodeConsumerProtocolSubscription,
          encodeConsumerProtocolSubscription,
        );
        assert.deepEqual(subscription.topics, [topic]);
      }
      const [assignment] = request(client, "SyncGroup").message.assignments;
      const assigned = roundTrip(
        assignment.assignment,
        decodeConsumerProtocolAssignment,
        encodeConsumerProtocolAssignment,
      );
      assert.deepEqual(assigned.assignedPartitions, [{ topic, partitions: [0] }]);
    });
  }

  it("kcat: OffsetFetch v7 is flexible (request header v2, compact strings) and asks for stable offsets", () => {
    const { header, message } = request("kcat", "OffsetFetch");
    assert.equal(header.requestApiVersion, 7);
    assert.equal(message.groupId, "brook-fixtures-kcat");
    assert.equal(message.requireStable, true);
    assert.deepEqual(message.topics, [{ name: topic, partitionIndexes: [0] }]);
  });
});
