import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HANDLERS } from "../../src/broker/handlers/index.js";
import type { ApiCodec, FieldSchema } from "../../src/protocol/codec-support.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { MESSAGE_SCHEMAS } from "../../src/protocol/generated/schema.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { errorResponse } from "../../src/testing/error-response.js";

type Struct = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: any API's codec.
type AnyCodec = ApiCodec<any, any, any, any>;

const CODE = ErrorCode.NOT_LEADER_OR_FOLLOWER;
const MESSAGE = "injected";

/** A request of `version` with one entry in every list, so every nested answer has something to echo. */
function sampleStruct(fields: readonly FieldSchema[], version: number): Struct {
  const value: Struct = {};
  for (const field of fields) {
    if (version < field.versions[0] || version > field.versions[1]) continue;
    value[field.name] = sampleValue(field, field.type, version);
  }
  return value;
}

function sampleValue(field: FieldSchema, type: string, version: number): unknown {
  if (type.startsWith("[]")) return [sampleValue(field, type.slice(2), version)];
  switch (type) {
    case "struct":
      return sampleStruct(field.fields ?? [], version);
    case "string":
      return `${field.name}-1`;
    case "bool":
      return false;
    case "uuid":
      return "00000000-0000-0000-0000-000000000001";
    case "bytes":
    case "records":
      return Buffer.alloc(0);
    default:
      return 7;
  }
}

function roundTrip(codec: AnyCodec, version: number, response: Struct): Struct {
  const w = new Writer();
  codec.encodeResponse(w, version, response);
  return codec.decodeResponse(new Reader(w.toBuffer()), version) as Struct;
}

/** Every error code of `version` in a decoded message (the decoder fills absent fields too), with its path. */
function errorCodes(
  fields: readonly FieldSchema[],
  value: Struct,
  version: number,
  path = "",
): Array<[string, number]> {
  return fields
    .filter((f) => version >= f.versions[0] && version <= f.versions[1])
    .flatMap((field): Array<[string, number]> => {
      const at = `${path}.${field.name}`;
      const inner = value[field.name];
      if (field.name === "errorCode") return [[at, inner as number]];
      if (field.type === "struct" && inner) return errorCodes(field.fields ?? [], inner as Struct, version, at);
      if (field.type !== "[]struct" || !Array.isArray(inner)) return [];
      return inner.flatMap((entry: Struct, i) => errorCodes(field.fields ?? [], entry, version, `${at}[${i}]`));
    });
}

function schemaOf(codec: AnyCodec, kind: "Request" | "Response"): readonly FieldSchema[] {
  const schema = MESSAGE_SCHEMAS.find((s) => s.apiKey === codec.apiKey && s.name.endsWith(kind));
  assert.ok(schema, `a ${kind} schema for ${codec.name}`);
  return schema.fields;
}

function decodedRequest(codec: AnyCodec, version: number): Struct {
  const w = new Writer();
  codec.encodeRequest(w, version, sampleStruct(schemaOf(codec, "Request"), version));
  return codec.decodeRequest(new Reader(w.toBuffer()), version) as Struct;
}

describe("errorResponse", () => {
  it("answers every version of every API the broker serves with a response that carries the error", () => {
    let checked = 0;
    for (const handler of HANDLERS) {
      const codec = handler.codec as AnyCodec;
      for (let version = handler.minVersion; version <= handler.maxVersion; version++) {
        const request = decodedRequest(codec, version);
        const decoded = roundTrip(codec, version, errorResponse(codec.apiKey, version, request, CODE, MESSAGE));
        const codes = errorCodes(schemaOf(codec, "Response"), decoded, version);
        assert.ok(codes.length > 0, `${codec.name} v${version} has an error code somewhere`);
        for (const [path, code] of codes) assert.equal(code, CODE, `${codec.name} v${version} ${path}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `checked ${checked} API versions`);
  });

  it("echoes Produce's topics and partitions, with unknown offsets", () => {
    const request = {
      acks: -1,
      timeoutMs: 1000,
      transactionalId: null,
      topicData: [{ name: "orders", partitionData: [{ index: 2, records: Buffer.alloc(0) }] }],
    };
    const decoded = roundTrip(API_CODECS.Produce, 9, errorResponse(0, 9, request, CODE, MESSAGE));
    assert.deepEqual(decoded.responses, [
      {
        name: "orders",
        partitionResponses: [
          {
            index: 2,
            errorCode: CODE,
            baseOffset: -1,
            logAppendTimeMs: -1,
            logStartOffset: -1,
            recordErrors: [],
            errorMessage: MESSAGE,
          },
        ],
      },
    ]);
  });

  it("names Fetch's partitions from the request's partition field, with empty records", () => {
    const request = decodedRequest(API_CODECS.Fetch, 11);
    const decoded = roundTrip(API_CODECS.Fetch, 11, errorResponse(1, 11, request, CODE, MESSAGE));
    assert.equal(decoded.errorCode, CODE);
    const [topic] = decoded.responses as Struct[];
    assert.ok(topic);
    assert.equal(topic.topic, "topic-1");
    const [partition] = topic.partitions as Struct[];
    assert.equal(partition?.partitionIndex, 7);
    assert.equal(partition?.errorCode, CODE);
    assert.equal(partition?.highWatermark, -1);
    assert.equal((partition?.records as Buffer | null)?.length ?? 0, 0);
  });

  it("turns lists of names and numbers into answers keyed by them (OffsetFetch v1, DeleteTopics v0)", () => {
    const offsets = roundTrip(
      API_CODECS.OffsetFetch,
      1,
      errorResponse(9, 1, { groupId: "g", topics: [{ name: "t", partitionIndexes: [0, 3] }] }, CODE, MESSAGE),
    );
    assert.deepEqual(
      (offsets.topics as Struct[]).map((t) => [
        t.name,
        (t.partitions as Struct[]).map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
      ]),
      [
        [
          "t",
          [
            [0, -1, CODE],
            [3, -1, CODE],
          ],
        ],
      ],
    );
    const deleted = roundTrip(
      API_CODECS.DeleteTopics,
      0,
      errorResponse(20, 0, { topicNames: ["a", "b"], timeoutMs: 1 }, CODE, MESSAGE),
    );
    assert.deepEqual(
      (deleted.responses as Struct[]).map((r) => [r.name, r.errorCode]),
      [
        ["a", CODE],
        ["b", CODE],
      ],
    );
  });

  it("leaves lists without error codes empty (Metadata's brokers, JoinGroup's members)", () => {
    const metadata = roundTrip(
      API_CODECS.Metadata,
      9,
      errorResponse(3, 9, decodedRequest(API_CODECS.Metadata, 9), CODE, MESSAGE),
    );
    assert.deepEqual(metadata.brokers, []);
    assert.equal(metadata.controllerId, -1);
    assert.deepEqual(
      (metadata.topics as Struct[]).map((t) => [t.name, t.errorCode, t.partitions]),
      [["name-1", CODE, []]],
    );
    const join = roundTrip(
      API_CODECS.JoinGroup,
      5,
      errorResponse(11, 5, decodedRequest(API_CODECS.JoinGroup, 5), CODE, MESSAGE),
    );
    assert.equal(join.errorCode, CODE);
    assert.equal(join.generationId, -1);
    assert.deepEqual(join.members, []);
  });
});
