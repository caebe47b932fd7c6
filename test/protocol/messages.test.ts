import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type AnyApiCodec, decodeResponseFrame } from "../../src/protocol/frames.js";
import * as assignment from "../../src/protocol/generated/consumer-protocol-assignment.js";
import * as subscription from "../../src/protocol/generated/consumer-protocol-subscription.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import * as requestHeader from "../../src/protocol/generated/request-header.js";
import * as responseHeader from "../../src/protocol/generated/response-header.js";
import { MESSAGE_SCHEMAS } from "../../src/protocol/generated/schema.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { messageArb, project } from "./schema-arbitrary.js";

type Encode = (w: Writer, v: number, m: never) => void;
type Decode = (r: Reader, v: number) => unknown;

function codecsOf(name: string): { encode: Encode; decode: Decode } {
  const api = Object.values(API_CODECS).find((c) => `${c.name}Request` === name || `${c.name}Response` === name) as
    | AnyApiCodec
    | undefined;
  if (api) {
    return name.endsWith("Request")
      ? { encode: api.encodeRequest, decode: api.decodeRequest }
      : { encode: api.encodeResponse, decode: api.decodeResponse };
  }
  const standalone: Record<string, { encode: Encode; decode: Decode }> = {
    RequestHeader: { encode: requestHeader.encodeRequestHeader, decode: requestHeader.decodeRequestHeader },
    ResponseHeader: { encode: responseHeader.encodeResponseHeader, decode: responseHeader.decodeResponseHeader },
    ConsumerProtocolSubscription: {
      encode: subscription.encodeConsumerProtocolSubscription,
      decode: subscription.decodeConsumerProtocolSubscription,
    },
    ConsumerProtocolAssignment: {
      encode: assignment.encodeConsumerProtocolAssignment,
      decode: assignment.decodeConsumerProtocolAssignment,
    },
  };
  const found = standalone[name];
  if (!found) throw new Error(`no codec for ${name}`);
  return found;
}

const encodeToBuffer = (encode: Encode, version: number, value: unknown) => {
  const w = new Writer(64);
  encode(w, version, value as never);
  return w.toBuffer();
};

describe("generated message codecs", () => {
  it("cover every API and version range the foundation promises, and DescribeLogDirs for tools", () => {
    const ranges = Object.fromEntries(Object.values(API_CODECS).map((c) => [c.name, [c.minVersion, c.maxVersion]]));
    assert.deepEqual(ranges, {
      Produce: [0, 9],
      Fetch: [0, 12],
      ListOffsets: [0, 7],
      Metadata: [0, 12],
      OffsetCommit: [0, 8],
      OffsetFetch: [0, 8],
      FindCoordinator: [0, 4],
      JoinGroup: [0, 9],
      Heartbeat: [0, 4],
      LeaveGroup: [0, 5],
      SyncGroup: [0, 5],
      DescribeGroups: [0, 5],
      ListGroups: [0, 5],
      SaslHandshake: [0, 1],
      SaslAuthenticate: [0, 2],
      ApiVersions: [0, 3],
      CreateTopics: [0, 7],
      DeleteTopics: [0, 6],
      DeleteRecords: [0, 2],
      InitProducerId: [0, 4],
      DescribeConfigs: [0, 4],
      AlterConfigs: [0, 2],
      DescribeLogDirs: [0, 4],
      IncrementalAlterConfigs: [0, 1],
      CreatePartitions: [0, 3],
      DeleteGroups: [0, 2],
      OffsetDelete: [0, 0],
      OffsetForLeaderEpoch: [0, 4],
      DescribeCluster: [0, 1],
    });
  });

  for (const schema of MESSAGE_SCHEMAS) {
    const { encode, decode } = codecsOf(schema.name);
    describe(schema.name, () => {
      for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
        const flexible = version >= schema.flexibleMinVersion;
        it(`v${version} round-trips generated values`, () => {
          fc.assert(
            fc.property(messageArb(schema, version), (value) => {
              const bytes = encodeToBuffer(encode, version, value);
              const reader = new Reader(bytes);
              const decoded = decode(reader, version);
              assert.equal(reader.remaining, 0, "decoder consumed every byte");
              assert.deepStrictEqual(project(schema.fields, version, flexible, decoded), value);
              assert.deepStrictEqual(encodeToBuffer(encode, version, decoded), bytes, "re-encoding is byte-exact");
            }),
            { numRuns: 40 },
          );
        });

        it(`v${version} rejects truncated and mutated bytes with a ProtocolError only`, () => {
          fc.assert(
            fc.property(
              messageArb(schema, version),
              fc.nat(),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
              (value, cut, mutations) => {
                const bytes = encodeToBuffer(encode, version, value);
                if (bytes.length > 0) {
                  const truncated = bytes.subarray(0, cut % bytes.length);
                  assert.throws(() => decode(new Reader(truncated), version), ProtocolError);
                }
                const mutated = Buffer.from(bytes);
                for (const [at, byte] of mutations) if (mutated.length > 0) mutated[at % mutated.length] = byte;
                try {
                  decode(new Reader(mutated), version);
                } catch (error) {
                  assert.ok(error instanceof ProtocolError, `unexpected ${String(error)}`);
                }
              },
            ),
            { numRuns: 25 },
          );
        });
      }
    });
  }
});

describe("responses decoded as the client reads them", () => {
  it("a failed SyncGroup with a null assignment, as librdkafka's mock cluster sends it, decodes to its error", () => {
    const frame = Buffer.alloc(4 + 4 + 2 + 4);
    frame.writeInt32BE(7, 0); // correlation id (header v0 at v3)
    frame.writeInt32BE(0, 4); // throttle time
    frame.writeInt16BE(27, 8); // REBALANCE_IN_PROGRESS
    frame.writeInt32BE(-1, 10); // a null assignment, which the schema does not allow
    const { correlationId, body } = decodeResponseFrame(frame, API_CODECS.SyncGroup.apiKey, 3);
    assert.equal(correlationId, 7);
    const response = API_CODECS.SyncGroup.decodeResponse(body, 3);
    assert.equal(response.errorCode, 27);
    assert.deepEqual(response.assignment, Buffer.alloc(0));
    // The broker reading a request stays strict.
    assert.throws(() => new Reader(frame, 10).readBytes(), ProtocolError);
  });
});
