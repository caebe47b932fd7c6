import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { openFileStorage } from "../../../src/broker/storage/file-storage.js";
import { frameStateFile } from "../../../src/broker/storage/state-file.js";
import { StorageError } from "../../../src/broker/storage/storage-error.js";
import { decodeTopics, encodeTopics } from "../../../src/broker/storage/topic-store.js";
import { temporaryDirectories } from "./file-helpers.js";
import { topic } from "./storage-contract.js";

const directory = temporaryDirectories("topic-store");
const TOPICS = [topic("orders", 3, { "retention.ms": "86400000", "cleanup.policy": "delete" }), topic("a.b_c-d")];

function rejectsAsCorrupt(bytes: Buffer, reason: RegExp): void {
  assert.throws(
    () => decodeTopics(bytes, "topics.meta"),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, "KAFKA_STORAGE_ERROR");
      assert.match(error.message, /^topics\.meta is corrupt: /);
      assert.match(error.message, reason);
      return true;
    },
  );
}

describe("topics file", () => {
  it("round-trips topic metadata", () => {
    assert.deepEqual(decodeTopics(encodeTopics(TOPICS), "topics.meta"), TOPICS);
    assert.deepEqual(decodeTopics(encodeTopics([]), "topics.meta"), []);
  });

  it("rejects every truncation of a good file", () => {
    const bytes = encodeTopics(TOPICS);
    for (let length = 0; length < bytes.length; length++) {
      rejectsAsCorrupt(bytes.subarray(0, length), /shorter than its header|payload but/);
    }
  });

  it("rejects any single flipped bit", () => {
    const bytes = encodeTopics(TOPICS);
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(bytes);
        damaged[at]! ^= 1 << bit;
        rejectsAsCorrupt(damaged, /./);
      }
    }
  });

  it("rejects files of another kind or version, and well-framed payloads of the wrong shape", () => {
    const good = encodeTopics(TOPICS);
    rejectsAsCorrupt(Buffer.concat([Buffer.from("LSTO"), good.subarray(4)]), /starts with "LSTO", not "TOPC"/);
    rejectsAsCorrupt(Buffer.concat([good, Buffer.from("x")]), /payload but/);
    const reframed = (version: number, payload: string) => frameStateFile("TOPC", version, Buffer.from(payload));
    rejectsAsCorrupt(reframed(2, '{"topics":[]}'), /unsupported version 2/);
    rejectsAsCorrupt(reframed(1, "{not json"), /not JSON/);
    rejectsAsCorrupt(reframed(1, '{"nothing":1}'), /no topic list/);
    rejectsAsCorrupt(reframed(1, JSON.stringify({ topics: [{ ...TOPICS[0], partitionCount: 0 }] })), /partition count/);
    rejectsAsCorrupt(reframed(1, JSON.stringify({ topics: [{ ...TOPICS[0], name: "../x" }] })), /topic name/);
    rejectsAsCorrupt(reframed(1, JSON.stringify({ topics: [TOPICS[0], TOPICS[0]] })), /appears twice/);
  });

  it("either decodes or throws a StorageError, whatever the bytes (fuzzed)", () => {
    const good = encodeTopics(TOPICS);
    const mutated = fc
      .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((edits) => {
        const bytes = Buffer.from(good);
        for (const [at, value] of edits) bytes[at] = value;
        return bytes;
      });
    const framedJunk = fc
      .oneof(
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        fc.json().map((json) => Buffer.from(json)),
      )
      .map((payload) => frameStateFile("TOPC", 1, payload));
    const anything = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(fc.oneof(mutated, framedJunk, anything), (bytes) => {
        try {
          const topics = decodeTopics(bytes, "topics.meta");
          assert.ok(Array.isArray(topics));
        } catch (error) {
          assert.ok(error instanceof StorageError, `not a StorageError: ${error}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("makes the file storage refuse to open on a corrupt topics file, naming the file", async () => {
    const dataDir = directory();
    const storage = await openFileStorage({ dataDir, fsync: "never" });
    await storage.createTopic(TOPICS[0]!);
    await storage.close();
    const path = join(dataDir, "topics.meta");
    const bytes = readFileSync(path);
    bytes[bytes.length - 3]! ^= 0x20;
    writeFileSync(path, bytes);
    await assert.rejects(openFileStorage({ dataDir, fsync: "never" }), {
      name: "StorageError",
      message: new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is corrupt: CRC-32C mismatch`),
    });
    writeFileSync(path, bytes.subarray(0, 20));
    await assert.rejects(openFileStorage({ dataDir, fsync: "never" }), { name: "StorageError", message: /is corrupt/ });
  });
});
