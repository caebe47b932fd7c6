// Bad input at the broker's front door: whole request frames (header and body, as the frame
// splitter hands them over) that are random, mutated, truncated or carry forged lengths go
// through decodeRequestFrame and the codec of the api key their header names, for every api.
// The only acceptable failure is a ProtocolError, which the broker turns into a closed
// connection; a RangeError or TypeError would be a crash. The same holds for the frames
// recorded from real clients, requests and responses alike (the client decodes the latter).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type AnyApiCodec,
  API_CODECS,
  codecForKey,
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
} from "../../src/protocol/frames.js";
import { MESSAGE_SCHEMAS } from "../../src/protocol/generated/schema.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { messageArb } from "./schema-arbitrary.js";

const FIXTURES_DIR = new URL("../../../test/fixtures/", import.meta.url);
/**
 * Far above what decoding a frame of a few KiB takes. Decoders do bounded work per byte, so
 * a frame that takes longer points at a loop that does not advance or a forged count honoured.
 */
const SLOW_DECODE_MS = 200;

/**
 * Values that, written over a length or count field, make it negative, null, or far larger
 * than the frame: int32 (bytes, arrays, records), int16 (strings) and unsigned varints
 * (compact forms), including a varint longer than 32 bits.
 */
const FORGED_LENGTHS: readonly Buffer[] = [
  Buffer.from("7fffffff", "hex"),
  Buffer.from("40000000", "hex"),
  Buffer.from("00100000", "hex"),
  Buffer.from("fffffffe", "hex"),
  Buffer.from("80000000", "hex"),
  Buffer.from("ffffffff", "hex"),
  Buffer.from("7fff", "hex"),
  Buffer.from("fffe", "hex"),
  Buffer.from("8000", "hex"),
  Buffer.from("ffffffff0f", "hex"),
  Buffer.from("ffffffff07", "hex"),
  Buffer.from("80808080808001", "hex"),
  Buffer.from("00", "hex"),
];

/** Decodes as the broker does: header first, then the body with the codec the header names. */
function decodeRequest(payload: Buffer): void {
  const { header, body } = decodeRequestFrame(payload);
  // An api brook does not implement never reaches a codec (the connection is closed).
  codecForKey(header.requestApiKey)?.decodeRequest(body, header.requestApiVersion);
}

function decodeResponse(apiKey: number, version: number): (payload: Buffer) => void {
  const codec = codecForKey(apiKey) as AnyApiCodec;
  return (payload) => codec.decodeResponse(decodeResponseFrame(payload, apiKey, version).body, version);
}

function assertOnlyProtocolErrors(decode: (payload: Buffer) => void, payload: Buffer): void {
  const started = performance.now();
  try {
    decode(payload);
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      assert.fail(`${String(error)} instead of a ProtocolError, decoding ${payload.toString("hex")}`);
    }
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < SLOW_DECODE_MS, `decoding ${payload.length} bytes took ${elapsed.toFixed(0)} ms`);
}

type Mutation = (payload: Buffer) => Buffer;

/** Ways of damaging a frame; positions are taken modulo its length. */
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
    .map((writes) => (payload: Buffer) => {
      const mutated = Buffer.from(payload);
      for (const [at, byte] of writes) mutated[at % mutated.length] = byte;
      return mutated;
    }),
  fc.nat().map((cut) => (payload: Buffer) => payload.subarray(0, cut % payload.length)),
  fc.tuple(fc.nat(), fc.constantFrom(...FORGED_LENGTHS)).map(([at, forged]) => (payload: Buffer) => {
    const mutated = Buffer.from(payload);
    forged.copy(mutated, at % mutated.length);
    return mutated;
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, inserted]) => (payload: Buffer) => {
    const cut = at % payload.length;
    return Buffer.concat([payload.subarray(0, cut), inserted, payload.subarray(cut)]);
  }),
);

function requestSchema(codec: AnyApiCodec) {
  const schema = MESSAGE_SCHEMAS.find((s) => s.name === `${codec.name}Request`);
  assert.ok(schema, `a schema for ${codec.name}Request`);
  return schema;
}

/** A valid request frame payload of `codec` at some version it supports. */
function validRequestArb(codec: AnyApiCodec): fc.Arbitrary<Buffer> {
  const schema = requestSchema(codec);
  return fc
    .integer({ min: codec.minVersion, max: codec.maxVersion })
    .chain((version) => fc.tuple(fc.constant(version), messageArb(schema, version), fc.integer()))
    .map(([version, message, correlationId]) =>
      Buffer.concat(encodeRequestFrame(codec, version, correlationId, "fuzz", message)).subarray(4),
    );
}

/** A header naming `codec` at any version, in or out of its range, followed by random bytes. */
function randomBodyArb(codec: AnyApiCodec): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      fc.integer({ min: -2, max: codec.maxVersion + 2 }),
      fc.integer(),
      fc.option(fc.string({ maxLength: 20 }), { nil: null }),
      fc.uint8Array({ maxLength: 256 }),
      fc.boolean(),
    )
    .map(([version, correlationId, clientId, body, withTagSection]) => {
      const clientIdBytes = clientId === null ? null : Buffer.from(clientId, "utf8");
      const header = Buffer.alloc(10);
      header.writeInt16BE(codec.apiKey, 0);
      header.writeInt16BE(version, 2);
      header.writeInt32BE(correlationId, 4);
      header.writeInt16BE(clientIdBytes === null ? -1 : clientIdBytes.length, 8);
      // Sometimes the empty tag section of header v2, so flexible bodies get reached as well.
      const tags = withTagSection ? Buffer.of(0) : Buffer.alloc(0);
      return Buffer.concat([header, clientIdBytes ?? Buffer.alloc(0), tags, body]);
    });
}

describe("request frames that are not what they should be", () => {
  for (const codec of Object.values(API_CODECS) as AnyApiCodec[]) {
    it(`${codec.name}: mutated, truncated, length-forged and random frames throw ProtocolError only`, () => {
      fc.assert(
        fc.property(validRequestArb(codec), mutationArb, (payload, mutate) => {
          assertOnlyProtocolErrors(decodeRequest, mutate(payload));
        }),
        { numRuns: 150 },
      );
      fc.assert(
        fc.property(randomBodyArb(codec), (payload) => assertOnlyProtocolErrors(decodeRequest, payload)),
        { numRuns: 100 },
      );
    });
  }

  it("frames of random bytes, too short for a header or naming unknown apis, throw ProtocolError only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) =>
        assertOnlyProtocolErrors(decodeRequest, Buffer.from(bytes)),
      ),
      { numRuns: 500 },
    );
  });
});

describe("recorded client frames, damaged", () => {
  for (const client of readdirSync(FIXTURES_DIR, { withFileTypes: true })) {
    if (!client.isDirectory()) continue;
    const dir = new URL(`${client.name}/`, FIXTURES_DIR);
    const index = JSON.parse(readFileSync(new URL("index.json", dir), "utf8")) as {
      fixtures: { file: string; kind: string; apiKey: number; version: number }[];
    };
    for (const entry of index.fixtures) {
      it(`${client.name}/${entry.file} throws ProtocolError only`, () => {
        const payload = readFileSync(new URL(entry.file, dir)).subarray(4);
        const decode = entry.kind === "request" ? decodeRequest : decodeResponse(entry.apiKey, entry.version);
        fc.assert(
          fc.property(mutationArb, (mutate) => assertOnlyProtocolErrors(decode, mutate(payload))),
          { numRuns: 150 },
        );
      });
    }
  }
});
