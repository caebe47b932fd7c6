// A thin test client over one Connection: typed requests at chosen versions, plus record
// batches built with the project's own encoder.
import { Connection } from "../../src/client/connection.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { encodeRecordBatch } from "../../src/protocol/records/encode-record-batch.js";
import type { RecordInput } from "../../src/protocol/records/record.js";
import type { TestBroker } from "../../src/testing/index.js";

export async function connectTo(broker: TestBroker): Promise<Connection> {
  const connection = new Connection({ host: broker.host, port: broker.port, clientId: "brook-test" });
  await connection.ready;
  return connection;
}

export function batchOf(
  values: string[],
  extra: {
    producerId?: number;
    producerEpoch?: number;
    baseSequence?: number;
    codec?: number;
    timestamp?: number;
  } = {},
) {
  const records: RecordInput[] = values.map((v, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(v),
    headers: [{ key: "h", value: Buffer.from("x") }],
    timestamp: extra.timestamp,
  }));
  return encodeRecordBatch({
    records,
    codec: extra.codec as never,
    producerId: extra.producerId,
    producerEpoch: extra.producerEpoch,
    baseSequence: extra.baseSequence,
  });
}

export async function produce(
  connection: Connection,
  topic: string,
  partition: number,
  records: Buffer,
  version = 9,
  acks = -1,
) {
  const response = await connection.send(API_CODECS.Produce, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return response.responses[0]!.partitionResponses[0]!;
}

export async function fetchOnce(
  connection: Connection,
  topic: string,
  partition: number,
  fetchOffset: number,
  options: {
    version?: number;
    maxWaitMs?: number;
    minBytes?: number;
    maxBytes?: number;
    partitionMaxBytes?: number;
  } = {},
) {
  const response = await connection.send(API_CODECS.Fetch, options.version ?? 12, {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset,
            logStartOffset: -1,
            partitionMaxBytes: options.partitionMaxBytes ?? 10 * 1024 * 1024,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: "",
  });
  return response.responses[0]!.partitions[0]!;
}

export async function createTopic(
  connection: Connection,
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
) {
  const response = await connection.send(API_CODECS.CreateTopics, 7, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return response.topics[0]!;
}
