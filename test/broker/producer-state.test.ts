import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProducerStateManager } from "../../src/broker/producer-state.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import type { BatchHeader } from "../../src/protocol/records/batch-header.js";

/** The header fields the restore reads; the rest do not matter to it. */
function header(producerId: number, epoch: number, baseSequence: number, recordsCount: number, baseOffset: number) {
  return { producerId, producerEpoch: epoch, baseSequence, recordsCount, baseOffset } as BatchHeader;
}

describe("ProducerStateManager restored at startup", () => {
  it("keeps each producer's newest epoch and its last 5 batches, so retries of those get their offsets back", async () => {
    const producers = new ProducerStateManager();
    const restore = producers.restoring("events", 0);
    // Producer 7: epoch 2, then 7 batches of 10 records in epoch 3, then a stray epoch-2 batch.
    restore.add(header(7, 2, 0, 10, 0));
    for (let i = 0; i < 7; i++) restore.add(header(7, 3, i * 10, 10, 100 + i * 10));
    restore.add(header(7, 2, 10, 10, 200));
    restore.add(header(8, 0, 0, 1, 300));
    restore.finish();

    const last = producers.check("events", 0, 7, 3, 60, 10);
    assert.equal(last.kind, "duplicate");
    assert.equal(last.kind === "duplicate" && (await last.baseOffset), 160);
    const fifthFromLast = producers.check("events", 0, 7, 3, 20, 10);
    assert.equal(fifthFromLast.kind === "duplicate" && (await fifthFromLast.baseOffset), 120);
    assert.deepEqual(producers.check("events", 0, 7, 3, 10, 10), {
      kind: "error",
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
    assert.equal(producers.check("events", 0, 7, 3, 70, 5).kind, "append", "the next sequence follows on");
    assert.deepEqual(producers.check("events", 0, 7, 2, 20, 10), {
      kind: "error",
      errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
    });
    const other = producers.check("events", 0, 8, 0, 0, 1);
    assert.equal(other.kind === "duplicate" && (await other.baseOffset), 300);
    assert.equal(producers.check("events", 1, 7, 3, 60, 10).kind, "append", "another partition knows nothing of it");
  });
});
