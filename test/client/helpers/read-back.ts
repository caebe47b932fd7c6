// Reads what a partition holds, for producer tests: Fetch through the client's own Cluster
// (routed to the partition's leader) and the protocol's batch decoder.
import { Cluster } from "../../../src/client/cluster.js";
import { BrookError } from "../../../src/client/errors.js";
import { decodeRecordBatches } from "../../../src/protocol/records/decode-record-batches.js";
import type { KafkaRecord } from "../../../src/protocol/records/record.js";
import type { RecordBatch } from "../../../src/protocol/records/record-batch.js";

export interface StoredRecord extends KafkaRecord {
  batch: Omit<RecordBatch, "records">;
}

/** Every record of `topic`-`partition` from offset 0 to the high watermark. */
export async function readPartition(bootstrap: string, topic: string, partition: number): Promise<StoredRecord[]> {
  const cluster = new Cluster({ brokers: [bootstrap] });
  try {
    await cluster.topics([topic]);
    const records: StoredRecord[] = [];
    for (let offset = 0; ; ) {
      const response = await cluster.request(cluster.leaderFor(topic, partition), "Fetch", () => ({
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 64 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 64 << 20 }] }],
      }));
      const data = response.responses[0]?.partitions[0];
      if (data?.errorCode !== 0) {
        throw BrookError.fromKafkaCode(data?.errorCode ?? -1, `fetch ${topic}-${partition}`);
      }
      const before = records.length;
      for (const { records: batchRecords, ...batch } of await decodeRecordBatches(data.records ?? Buffer.alloc(0))) {
        for (const record of batchRecords) if (record.offset >= offset) records.push({ ...record, batch });
      }
      offset = records.length > 0 ? (records[records.length - 1] as StoredRecord).offset + 1 : offset;
      if (offset >= data.highWatermark || records.length === before) return records;
    }
  } finally {
    await cluster.close();
  }
}

/** The values of every record of every partition of a topic, as UTF-8, by partition. */
export async function readTopicValues(bootstrap: string, topic: string): Promise<string[][]> {
  const cluster = new Cluster({ brokers: [bootstrap] });
  const [info] = await cluster.topics([topic]).finally(() => cluster.close());
  const partitions = info?.partitions.length ?? 0;
  return Promise.all(
    Array.from({ length: partitions }, async (_, p) =>
      (await readPartition(bootstrap, topic, p)).map((r) => r.value?.toString("utf8") ?? "<null>"),
    ),
  );
}
