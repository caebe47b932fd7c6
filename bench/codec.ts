// Codec benchmark: encode and decode of the messages where the protocol layer's cost shows.
// A Produce request carrying a 1 MiB batch and a Fetch response carrying 4 MiB of batches,
// whose record bytes must pass through as references, never copied or parsed; and a Metadata
// response describing 1,000 partitions, which is all small fields. Each figure is put next to
// a reference measured in the same run on the same bytes (a memcpy of them, or JSON for the
// Metadata message), and the client paths that do build or parse records are compared with
// kafkajs's own encoder and decoder.
//
//   npx tsc -p . && node dist/bench/codec.js        (BENCH_ROUND_MS=50 for a quick run)
import { randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import {
  API_CODECS,
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponsePayload,
} from "../src/protocol/frames.js";
import type { FetchResponseInput } from "../src/protocol/generated/fetch.js";
import type { MetadataResponseInput } from "../src/protocol/generated/metadata.js";
import type { ProduceRequestInput } from "../src/protocol/generated/produce.js";
import { decodeRecordBatches } from "../src/protocol/records/decode-record-batches.js";
import { encodeRecordBatch } from "../src/protocol/records/encode-record-batch.js";
import type { RecordInput } from "../src/protocol/records/record.js";
import { type Column, formatBytes, printTable, significant } from "./table.js";

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = 5;
const CORRELATION_ID = 42;
const CLIENT_ID = "bench";

interface Case {
  name: string;
  /** Bytes of the frame the operation reads or writes, for MB/s. */
  bytes: number;
  run: () => unknown;
  /** The case this one's time is divided by; it is measured in the same run. */
  reference?: Case;
  /** Record bytes that one operation copied instead of referencing; measured once, untimed. */
  recordBytesCopied?: number;
}

/** Every result is stored here, where it stays observable, so no operation's work is optimised away. */
export let sink: unknown;

async function timeIterations(run: () => unknown, iterations: number, isAsync: boolean): Promise<number> {
  const started = performance.now();
  if (isAsync) for (let i = 0; i < iterations; i++) sink = await run();
  else for (let i = 0; i < iterations; i++) sink = run();
  return performance.now() - started;
}

/** Median ns per operation over ROUNDS rounds of about ROUND_MS each, after warming up. */
async function measure(run: () => unknown): Promise<number> {
  const first = run();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let iterations = 1;
  let elapsed = await timeIterations(run, iterations, isAsync);
  // Doubling until a batch takes a while both warms the code up and calibrates the rounds.
  while (elapsed < ROUND_MS / 4) {
    iterations *= 2;
    elapsed = await timeIterations(run, iterations, isAsync);
  }
  const perRound = Math.max(1, Math.round((iterations * ROUND_MS) / elapsed));
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    samples.push(((await timeIterations(run, perRound, isAsync)) * 1e6) / perRound);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(ROUNDS / 2)] as number;
}

function sharesMemory(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

const totalLength = (buffers: readonly Buffer[]) => buffers.reduce((sum, b) => sum + b.length, 0);

/** Encoding: record bytes that reached the output chunks as copies rather than as the batches themselves. */
function copiedIntoChunks(chunks: readonly Buffer[], batches: readonly Buffer[]): number {
  const referenced = chunks.filter((chunk) => batches.some((batch) => sharesMemory(chunk, batch)));
  return totalLength(batches) - totalLength(referenced);
}

/** Decoding: record bytes handed out in buffers of their own rather than as views of the input. */
function copiedOutOf(input: Buffer, records: readonly Buffer[]): number {
  return totalLength(records.filter((r) => !sharesMemory(r, input)));
}

// ---- the messages ----

const VALUE_BYTES = 1000;
const payload = randomBytes(VALUE_BYTES * 2048);

/** `count` records of a 16-byte key, a 1000-byte value and one header, as producers send. */
function recordsOf(count: number): RecordInput[] {
  const timestamp = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`key-${String(i).padStart(12, "0")}`),
    value: payload.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES),
    headers: [{ key: "trace-id", value: Buffer.from(`trace-${i}`) }],
    timestamp: timestamp + i,
  }));
}

const PRODUCE_VERSION = 9;
const produceRecords = recordsOf(1024);
const produceBatch = await encodeRecordBatch({ records: produceRecords });
const produceRequest: ProduceRequestInput = {
  transactionalId: null,
  acks: -1,
  timeoutMs: 30_000,
  topicData: [{ name: "bench", partitionData: [{ index: 0, records: produceBatch }] }],
};
const encodeProduce = () =>
  encodeRequestFrame(API_CODECS.Produce, PRODUCE_VERSION, CORRELATION_ID, CLIENT_ID, produceRequest);
// What a broker's frame splitter hands over: one buffer, without the size prefix.
const produceFrame = Buffer.concat(encodeProduce()).subarray(4);
const decodeProduce = () => {
  const { header, body } = decodeRequestFrame(produceFrame);
  return API_CODECS.Produce.decodeRequest(body, header.requestApiVersion);
};

const FETCH_VERSION = 12;
const FETCH_PARTITIONS = 4;
// Two 512 KiB batches per partition, as a log read hands them over: separate buffers.
const fetchBatches = await Promise.all(
  Array.from({ length: FETCH_PARTITIONS * 2 }, () => encodeRecordBatch({ records: recordsOf(512) })),
);
const fetchResponse: FetchResponseInput = {
  responses: [
    {
      topic: "bench",
      partitions: Array.from({ length: FETCH_PARTITIONS }, (_, p) => ({
        partitionIndex: p,
        errorCode: 0,
        highWatermark: 1024,
        lastStableOffset: 1024,
        logStartOffset: 0,
        abortedTransactions: [],
        records: fetchBatches.slice(p * 2, p * 2 + 2),
      })),
    },
  ],
};
const encodeFetch = () =>
  encodeResponsePayload(API_CODECS.Fetch.apiKey, FETCH_VERSION, CORRELATION_ID, (w) =>
    API_CODECS.Fetch.encodeResponse(w, FETCH_VERSION, fetchResponse),
  );
const fetchFrame = Buffer.concat(encodeFetch());
const decodeFetch = () => {
  const { body } = decodeResponseFrame(fetchFrame, API_CODECS.Fetch.apiKey, FETCH_VERSION);
  return API_CODECS.Fetch.decodeResponse(body, FETCH_VERSION);
};

const METADATA_VERSION = 12;
const TOPICS = 10;
const PARTITIONS_PER_TOPIC = 100;
const metadataResponse: MetadataResponseInput = {
  brokers: [1, 2, 3].map((nodeId) => ({ nodeId, host: `broker-${nodeId}.example.com`, port: 9092, rack: null })),
  clusterId: randomUUID(),
  controllerId: 1,
  topics: Array.from({ length: TOPICS }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    topicId: randomUUID(),
    isInternal: false,
    partitions: Array.from({ length: PARTITIONS_PER_TOPIC }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: (p % 3) + 1,
      leaderEpoch: 0,
      replicaNodes: [1, 2, 3],
      isrNodes: [1, 2, 3],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: -2147483648,
  })),
};
const encodeMetadata = () =>
  encodeResponsePayload(API_CODECS.Metadata.apiKey, METADATA_VERSION, CORRELATION_ID, (w) =>
    API_CODECS.Metadata.encodeResponse(w, METADATA_VERSION, metadataResponse),
  );
const metadataFrame = Buffer.concat(encodeMetadata());
const decodeMetadata = () => {
  const { body } = decodeResponseFrame(metadataFrame, API_CODECS.Metadata.apiKey, METADATA_VERSION);
  return API_CODECS.Metadata.decodeResponse(body, METADATA_VERSION);
};
const metadataJson = JSON.stringify(metadataResponse);

// ---- kafkajs, for the client paths that build or parse the records themselves ----

// kafkajs ships no types for its internals; these are the few shapes used here.
interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsMessage {
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
  timestamp: number;
}
type KafkajsProduceRequest = (args: {
  acks: number;
  timeout: number;
  topicData: { topic: string; partitions: { partition: number; messages: KafkajsMessage[] }[] }[];
}) => unknown;
type KafkajsCreateRequest = (args: {
  correlationId: number;
  clientId: string;
  request: unknown;
}) => Promise<KafkajsEncoder>;
interface KafkajsResponse {
  decode(payload: Buffer): Promise<unknown>;
  parse(decoded: unknown): Promise<{ responses: { partitions: { messages: unknown[] }[] }[] }>;
}

const require = createRequire(import.meta.url);
const kafkajsCreateRequest = require("kafkajs/src/protocol/request") as KafkajsCreateRequest;
const kafkajsProduceV7 = require("kafkajs/src/protocol/requests/produce/v7/request") as KafkajsProduceRequest;
const kafkajsFetchV11 = require("kafkajs/src/protocol/requests/fetch/v11/response") as KafkajsResponse;

const CLIENT_PRODUCE_VERSION = 7;
const kafkajsMessages: KafkajsMessage[] = produceRecords.map((r) => ({
  key: r.key as Buffer,
  value: r.value as Buffer,
  headers: { "trace-id": r.headers?.[0]?.value as Buffer },
  timestamp: r.timestamp as number,
}));

/** Records to a Produce v7 frame, as a producer does it: the batch is built (CRC included) each time. */
async function brookProduceFromRecords(): Promise<Buffer[]> {
  const records = await encodeRecordBatch({ records: produceRecords });
  return encodeRequestFrame(API_CODECS.Produce, CLIENT_PRODUCE_VERSION, CORRELATION_ID, CLIENT_ID, {
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: "bench", partitionData: [{ index: 0, records }] }],
  });
}

async function kafkajsProduceFromRecords(): Promise<Buffer> {
  const request = kafkajsProduceV7({
    acks: -1,
    timeout: 30_000,
    topicData: [{ topic: "bench", partitions: [{ partition: 0, messages: kafkajsMessages }] }],
  });
  const encoder = await kafkajsCreateRequest({ correlationId: CORRELATION_ID, clientId: CLIENT_ID, request });
  return encoder.buffer;
}

const CLIENT_FETCH_VERSION = 11;
const clientFetchFrame = Buffer.concat(
  encodeResponsePayload(API_CODECS.Fetch.apiKey, CLIENT_FETCH_VERSION, CORRELATION_ID, (w) =>
    API_CODECS.Fetch.encodeResponse(w, CLIENT_FETCH_VERSION, fetchResponse),
  ),
);

/** A Fetch v11 response down to its records, as a consumer needs it. */
async function brookFetchToRecords(): Promise<number> {
  const { body } = decodeResponseFrame(clientFetchFrame, API_CODECS.Fetch.apiKey, CLIENT_FETCH_VERSION);
  const response = API_CODECS.Fetch.decodeResponse(body, CLIENT_FETCH_VERSION);
  let records = 0;
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      if (!partition.records) continue;
      for (const batch of await decodeRecordBatches(partition.records)) records += batch.records.length;
    }
  }
  return records;
}

async function kafkajsFetchToRecords(): Promise<number> {
  // kafkajs's connection strips the correlation id before handing the payload to the response.
  const parsed = await kafkajsFetchV11.parse(await kafkajsFetchV11.decode(clientFetchFrame.subarray(4)));
  let records = 0;
  for (const topic of parsed.responses) for (const partition of topic.partitions) records += partition.messages.length;
  return records;
}

/** Both sides must have done the same work, or comparing their times means nothing. */
async function checkKafkajsDoesTheSameWork(): Promise<void> {
  const kafkajsFrame = (await kafkajsProduceFromRecords()).subarray(4);
  const { header, body } = decodeRequestFrame(kafkajsFrame);
  const request = API_CODECS.Produce.decodeRequest(body, header.requestApiVersion);
  const batches = await decodeRecordBatches(request.topicData[0]?.partitionData[0]?.records as Buffer);
  const produced = batches.flatMap((b) => b.records);
  if (
    produced.length !== produceRecords.length ||
    !produced.every((r, i) => r.value?.equals(produceRecords[i]?.value as Buffer))
  ) {
    throw new Error("kafkajs's Produce request does not carry the benchmark's records");
  }
  const expected = FETCH_PARTITIONS * 2 * 512;
  const [brookCount, kafkajsCount] = [await brookFetchToRecords(), await kafkajsFetchToRecords()];
  if (brookCount !== expected || kafkajsCount !== expected) {
    throw new Error(`Fetch to records: brook read ${brookCount}, kafkajs ${kafkajsCount}, expected ${expected}`);
  }
}

// ---- the run ----

const produceSize = produceFrame.length + 4;
const fetchSize = fetchFrame.length + 4;
const metadataSize = metadataFrame.length + 4;
const clientFetchSize = clientFetchFrame.length + 4;
const clientProduceSize = totalLength(await brookProduceFromRecords());
const produceLabel = `Produce v${PRODUCE_VERSION} request, 1 batch of ${formatBytes(produceBatch.length)}`;
const fetchLabel = `Fetch v${FETCH_VERSION} response, ${fetchBatches.length} batches, ${formatBytes(totalLength(fetchBatches))}`;
const metadataLabel = `Metadata v${METADATA_VERSION} response, ${TOPICS * PARTITIONS_PER_TOPIC} partitions`;
const fetchedRecords = fetchBatches.length * 512;

/** Touching every byte once, at memory speed: what a codec that copied the records would at least cost. */
function memcpyOf(frame: Buffer, recordBytes: number): Case {
  const target = Buffer.allocUnsafe(frame.length);
  return {
    name: `memcpy of the same ${formatBytes(frame.length + 4)}`,
    bytes: frame.length + 4,
    run: () => frame.copy(target),
    recordBytesCopied: recordBytes,
  };
}

const produceMemcpy = memcpyOf(produceFrame, produceBatch.length);
const fetchMemcpy = memcpyOf(fetchFrame, totalLength(fetchBatches));
const jsonStringify: Case = {
  name: "JSON.stringify of the same message",
  bytes: metadataJson.length,
  run: () => JSON.stringify(metadataResponse),
};
const jsonParse: Case = {
  name: "JSON.parse of the same message",
  bytes: metadataJson.length,
  run: () => JSON.parse(metadataJson),
};
const kafkajsProduce: Case = {
  name: `kafkajs: Produce v${CLIENT_PRODUCE_VERSION} request from ${produceRecords.length} records`,
  bytes: clientProduceSize,
  run: kafkajsProduceFromRecords,
};
const kafkajsFetch: Case = {
  name: `kafkajs: Fetch v${CLIENT_FETCH_VERSION} response to ${fetchedRecords} records`,
  bytes: clientFetchSize,
  run: kafkajsFetchToRecords,
};

const decodedProduceRecords = decodeProduce().topicData[0]?.partitionData[0]?.records as Buffer;
const decodedFetchRecords = decodeFetch().responses[0]?.partitions.map((p) => p.records as Buffer) ?? [];

await checkKafkajsDoesTheSameWork();

const cases: Case[] = [
  {
    name: `${produceLabel}: encode`,
    bytes: produceSize,
    run: encodeProduce,
    reference: produceMemcpy,
    recordBytesCopied: copiedIntoChunks(encodeProduce(), [produceBatch]),
  },
  {
    name: `${produceLabel}: decode`,
    bytes: produceSize,
    run: decodeProduce,
    reference: produceMemcpy,
    recordBytesCopied: copiedOutOf(produceFrame, [decodedProduceRecords]),
  },
  produceMemcpy,
  {
    name: `${fetchLabel}: encode`,
    bytes: fetchSize,
    run: encodeFetch,
    reference: fetchMemcpy,
    recordBytesCopied: copiedIntoChunks(encodeFetch(), fetchBatches),
  },
  {
    name: `${fetchLabel}: decode`,
    bytes: fetchSize,
    run: decodeFetch,
    reference: fetchMemcpy,
    recordBytesCopied: copiedOutOf(fetchFrame, decodedFetchRecords),
  },
  fetchMemcpy,
  { name: `${metadataLabel}: encode`, bytes: metadataSize, run: encodeMetadata, reference: jsonStringify },
  { name: `${metadataLabel}: decode`, bytes: metadataSize, run: decodeMetadata, reference: jsonParse },
  jsonStringify,
  jsonParse,
  {
    name: `brook: Produce v${CLIENT_PRODUCE_VERSION} request from ${produceRecords.length} records`,
    bytes: clientProduceSize,
    run: brookProduceFromRecords,
    reference: kafkajsProduce,
  },
  kafkajsProduce,
  {
    name: `brook: Fetch v${CLIENT_FETCH_VERSION} response to ${fetchedRecords} records`,
    bytes: clientFetchSize,
    run: brookFetchToRecords,
    reference: kafkajsFetch,
  },
  kafkajsFetch,
];

const nsPerOp = new Map<Case, number>();
for (const c of cases) nsPerOp.set(c, await measure(c.run));

const columns: Column[] = [
  { title: "case" },
  { title: "ops/s", align: "right" },
  { title: "µs/op", align: "right" },
  { title: "MB/s", align: "right" },
  { title: "record bytes copied/op", align: "right" },
  { title: "time ÷ reference's", align: "right" },
];
const rows = cases.map((c) => {
  const ns = nsPerOp.get(c) as number;
  const reference = c.reference ? `${significant(ns / (nsPerOp.get(c.reference) as number))}` : "reference";
  return [
    c.reference ? `  ${c.name}` : c.name,
    significant(1e9 / ns),
    significant(ns / 1000),
    significant((c.bytes * 1e3) / ns),
    c.recordBytesCopied === undefined ? "" : formatBytes(c.recordBytesCopied),
    reference,
  ];
});
process.stdout.write(
  `brook codec benchmark, node ${process.version}, median of ${ROUNDS} rounds of ~${ROUND_MS} ms each.\n` +
    "Each indented case is followed by its reference, measured in the same run on the same bytes.\n\n",
);
printTable(columns, rows);
