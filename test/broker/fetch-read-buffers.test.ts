// Fetch responses carry log reads in buffers that are reused once written (ReadBuffers): many
// fetches in flight at once on one connection must still each get exactly the bytes they read.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Connection } from "../../src/client/connection.js";
import { decodeRecordBatches } from "../../src/protocol/records/decode-record-batches.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import { batchOf, connectTo, createTopic, fetchOnce, produce } from "../helpers/broker-client.js";

const PARTITIONS = 2;
const BATCHES = 12;
const VALUE_BYTES = 150 * 1024;

const batchValue = (partition: number, batch: number) =>
  `${partition}-${batch}-`.repeat(VALUE_BYTES / 4).slice(0, VALUE_BYTES);

describe("fetch responses from reused read buffers (disk storage)", () => {
  let broker: TestBroker;
  let client: Connection;

  before(async () => {
    broker = await startBroker({ storage: "disk" });
    client = await connectTo(broker);
    await createTopic(client, "reused", PARTITIONS);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (let batch = 0; batch < BATCHES; batch++) {
        const produced = await produce(client, "reused", partition, await batchOf([batchValue(partition, batch)]));
        assert.equal(produced.errorCode, 0);
      }
    }
  });
  after(async () => {
    await client.close();
    await broker.stop();
  });

  it("answers every one of many pipelined fetches with the bytes of its own offset, round after round", async () => {
    for (let round = 0; round < 5; round++) {
      const wanted = Array.from({ length: PARTITIONS * BATCHES }, (_, i) => ({
        partition: i % PARTITIONS,
        offset: (i + round) % BATCHES,
      }));
      const responses = await Promise.all(
        wanted.map(({ partition, offset }) =>
          // Room for two batches of 150 KiB: reads large enough to be lent a buffer.
          fetchOnce(client, "reused", partition, offset, { partitionMaxBytes: 2 * VALUE_BYTES + 1024 }),
        ),
      );
      for (const [i, response] of responses.entries()) {
        const { partition, offset } = wanted[i]!;
        const batches = await decodeRecordBatches(response.records!);
        const values = batches.flatMap((b) => b.records.map((r) => r.value?.toString()));
        const expected = [offset, offset + 1].filter((o) => o < BATCHES).map((o) => batchValue(partition, o));
        assert.deepEqual(values, expected, `round ${round}, partition ${partition}, offset ${offset}`);
      }
    }
  });
});
