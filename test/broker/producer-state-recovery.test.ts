import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProducerStateManager } from "../../src/broker/producer-state.js";
import { restoreProducerStates } from "../../src/broker/producer-state-recovery.js";
import { openFileStorage } from "../../src/broker/storage/file-storage.js";
import { createMemoryStorage } from "../../src/broker/storage/memory-storage.js";
import type { Storage } from "../../src/broker/storage/storage.js";
import type { Topic } from "../../src/broker/topic-manager.js";
import { BATCH_OFFSETS, type BatchHeader, writeInt64At } from "../../src/protocol/records/batch-header.js";
import { makeBatch } from "./storage/batches.js";
import { temporaryDirectories } from "./storage/file-helpers.js";
import { topic } from "./storage/storage-contract.js";

const directory = temporaryDirectories("producer-state-recovery");

interface Restored {
  partition: number;
  producerId: number;
  epoch: number;
  firstSequence: number;
  recordCount: number;
  baseOffset: number;
}

/** A batch of `records` records from producer `producerId` (−1: not idempotent), first sequence `sequence`. */
function producerBatch(producerId: number, sequence: number, records: number, bodyBytes: number): Buffer {
  const batch = makeBatch({ records, bodyBytes });
  writeInt64At(batch, BATCH_OFFSETS.producerId, producerId);
  batch.writeInt16BE(producerId < 0 ? -1 : 3, BATCH_OFFSETS.producerEpoch);
  batch.writeInt32BE(producerId < 0 ? -1 : sequence, BATCH_OFFSETS.baseSequence);
  return batch;
}

/** What restoreProducerStates hands the producer state, in order. */
async function restored(storage: Storage): Promise<Restored[]> {
  const calls: Restored[] = [];
  const producers = {
    restoring: (_topic: string, partition: number) => ({
      add: (batch: BatchHeader) =>
        calls.push({
          partition,
          producerId: batch.producerId,
          epoch: batch.producerEpoch,
          firstSequence: batch.baseSequence,
          recordCount: batch.recordsCount,
          baseOffset: batch.baseOffset,
        }),
      finish: () => {},
    }),
  } as unknown as ProducerStateManager;
  const partitions = [storage.partition("events", 0)!];
  await restoreProducerStates([{ name: "events", partitions } as unknown as Topic], producers);
  return calls;
}

const engines: [string, () => Promise<Storage>][] = [
  ["memory", async () => createMemoryStorage({ segmentBytes: 1_000_000 })],
  ["file", () => openFileStorage({ dataDir: directory(), fsync: "never", segmentBytes: 1_000_000 })],
];

for (const [engine, open] of engines) {
  describe(`restoreProducerStates on ${engine} storage`, () => {
    it("hands over the idempotent batches of the active segment from the log start offset, oldest first", async () => {
      const storage = await open();
      try {
        await storage.createTopic(topic("events"));
        const log = storage.partition("events", 0)!;
        // 30 batches of 40 KB pass segment.bytes once; the active segment then holds the last of
        // them and batches smaller and larger than the file engine's read window (256 KiB), a
        // third of them not idempotent.
        const sequences = new Map<number, number>();
        const expected: Restored[] = [];
        const bodies = [...Array.from({ length: 30 }, () => 40_000), 100, 300_000, 50, 60, 70, 300_000, 80];
        for (const [i, bodyBytes] of bodies.entries()) {
          const producerId = i % 3 === 2 ? -1 : 1000 + (i % 3);
          const sequence = sequences.get(producerId) ?? 0;
          const records = (i % 4) + 1;
          const { baseOffset } = await log.append(producerBatch(producerId, sequence, records, bodyBytes));
          sequences.set(producerId, sequence + records);
          if (producerId >= 0) {
            expected.push({
              partition: 0,
              producerId,
              epoch: 3,
              firstSequence: sequence,
              recordCount: records,
              baseOffset,
            });
          }
        }
        assert.equal(log.segmentCount, 2, "the first batches were rolled out of the active segment");
        const active = log.activeSegmentBaseOffset;
        assert.deepEqual(
          await restored(storage),
          expected.filter((batch) => batch.baseOffset >= active),
        );
        // A log start offset inside the active segment: from the batch holding it on.
        const second = expected.filter((batch) => batch.baseOffset > active)[1]!;
        await log.deleteRecordsBefore(second.baseOffset + 1);
        assert.deepEqual(
          await restored(storage),
          expected.filter((batch) => batch.baseOffset >= second.baseOffset),
        );
      } finally {
        await storage.close();
      }
    });
  });
}
