// The promise behind the codec benchmark's "record bytes copied" column, as a test: record
// batches cross the codec by reference. Decoding a Produce request (broker) or a Fetch
// response (client) hands out views of the frame; encoding a Fetch response (broker) or a
// Produce request (client) puts the batch buffers themselves into the Writer's chunk list,
// ready for a vectored write. (The Writer copies byte fields under 1 KiB into its scratch
// buffer on purpose, a chunk of their own costing more; the batches here are all larger.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  API_CODECS,
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponsePayload,
} from "../../src/protocol/frames.js";
import { encodeRecordBatch } from "../../src/protocol/records/encode-record-batch.js";

/** The Produce and Fetch versions that carry record batch v2 (v3 and v4 onwards). */
const PRODUCE_VERSIONS = [3, 4, 5, 6, 7, 8, 9];
const FETCH_VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11, 12];

const batchOf = (records: number, valueBytes: number) =>
  encodeRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(valueBytes, i),
    })),
  });

/** True when `view` lies inside `frame`'s memory, i.e. is a slice of it and not a copy. */
function isViewOf(view: Buffer, frame: Buffer): boolean {
  return (
    view.buffer === frame.buffer &&
    view.byteOffset >= frame.byteOffset &&
    view.byteOffset + view.length <= frame.byteOffset + frame.length
  );
}

describe("record bytes are never copied by the codecs", () => {
  for (const version of PRODUCE_VERSIONS) {
    it(`Produce v${version}: the request's batches go out as their own chunks and decode as views of the frame`, async () => {
      const batch = await batchOf(64, 1024);
      const chunks = encodeRequestFrame(API_CODECS.Produce, version, 1, "zero-copy", {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: "t", partitionData: [{ index: 0, records: batch }] }],
      });
      assert.ok(
        chunks.some((chunk) => chunk === batch),
        "the batch itself is one of the chunks",
      );

      // As the frame splitter hands it over: one buffer, size prefix removed.
      const frame = Buffer.concat(chunks).subarray(4);
      const { header, body } = decodeRequestFrame(frame);
      const records = API_CODECS.Produce.decodeRequest(body, header.requestApiVersion).topicData[0]?.partitionData[0]
        ?.records as Buffer;
      assert.ok(isViewOf(records, frame), "the decoded records are a view of the frame");
      assert.deepEqual(records, batch);
    });
  }

  for (const version of FETCH_VERSIONS) {
    it(`Fetch v${version}: the response's batches go out as their own chunks and decode as views of the frame`, async () => {
      // Several batches per partition, as a log read returns them: separate buffers.
      const batches = [await batchOf(8, 512), await batchOf(16, 512), await batchOf(4, 2048)];
      const chunks = encodeResponsePayload(API_CODECS.Fetch.apiKey, version, 1, (w) =>
        API_CODECS.Fetch.encodeResponse(w, version, {
          responses: [
            {
              topic: "t",
              partitions: [
                { partitionIndex: 0, errorCode: 0, highWatermark: 28, records: batches.slice(0, 2) },
                { partitionIndex: 1, errorCode: 0, highWatermark: 4, records: batches.slice(2) },
              ],
            },
          ],
        }),
      );
      for (const batch of batches) {
        assert.ok(
          chunks.some((chunk) => chunk === batch),
          "each batch is one of the chunks",
        );
      }
      const copied = chunks.reduce((sum, chunk) => sum + (batches.includes(chunk) ? 0 : chunk.length), 0);
      assert.ok(copied < 200, `only the response's own fields are written, ${copied} bytes`);

      const frame = Buffer.concat(chunks);
      const { body } = decodeResponseFrame(frame, API_CODECS.Fetch.apiKey, version);
      const partitions = API_CODECS.Fetch.decodeResponse(body, version).responses[0]?.partitions ?? [];
      assert.equal(partitions.length, 2);
      for (const partition of partitions) assert.ok(isViewOf(partition.records as Buffer, frame));
      assert.deepEqual(partitions[0]?.records, Buffer.concat(batches.slice(0, 2)));
    });
  }
});
