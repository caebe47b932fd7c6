import { ErrorCode } from "../../protocol/errors.js";
import {
  API_CODECS,
  type FetchableTopicResponseInput,
  type FetchRequest,
  type FetchResponsePartitionDataInput,
} from "../../protocol/generated/index.js";
import { waitForAppend } from "../append-waiter.js";
import type { BrokerContext } from "../broker-context.js";
import type { PartitionLog } from "../storage/storage.js";
import { defineHandler } from "./handler.js";
import { checkLeaderEpoch } from "./leader-epoch.js";

/** Kafka answers a partition without data with empty records, never null; librdkafka needs that to see the end. */
const EMPTY_RECORDS = Buffer.alloc(0);

interface FetchPass {
  responses: FetchableTopicResponseInput[];
  bytes: number;
  /** An error in any partition ends a long poll at once, as in Kafka. */
  anyError: boolean;
}

/** Reads every requested partition once, within the request's byte budgets. */
async function readPartitions(broker: BrokerContext, request: FetchRequest, version: number): Promise<FetchPass> {
  // Before v3 the client sets no response-wide limit; the broker's own applies to every version.
  let budget = Math.min(broker.config.fetchMaxBytes, version >= 3 ? request.maxBytes : Number.MAX_SAFE_INTEGER);
  let bytes = 0;
  let anyError = false;
  const responses: FetchableTopicResponseInput[] = [];
  for (const { topic, partitions } of request.topics) {
    const results: FetchResponsePartitionDataInput[] = [];
    for (const wanted of partitions) {
      const log = broker.topics.partition(topic, wanted.partition);
      const result = (errorCode: number, highWatermark = -1, logStartOffset = -1) => ({
        partitionIndex: wanted.partition,
        errorCode,
        highWatermark,
        lastStableOffset: highWatermark,
        logStartOffset,
        abortedTransactions: version >= 4 ? [] : null,
        preferredReadReplica: -1,
        records: EMPTY_RECORDS,
      });
      if (!log) {
        anyError = true;
        results.push(result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      const epochError = checkLeaderEpoch(wanted.currentLeaderEpoch);
      if (epochError !== ErrorCode.NONE) {
        anyError = true;
        results.push(result(epochError, log.highWatermark, log.logStartOffset));
        continue;
      }
      if (budget <= 0 || wanted.fetchOffset === log.highWatermark) {
        results.push(result(ErrorCode.NONE, log.highWatermark, log.logStartOffset));
        continue;
      }
      // Only the response's first batch may exceed the budget (KIP-74). A later partition whose
      // first batch does not fit waits for another fetch, unread: reading it only to drop it made
      // a fetch over many partitions read every one of them.
      const firstBatchMaxBytes = bytes > 0 ? budget : Number.POSITIVE_INFINITY;
      const read = await log.read(wanted.fetchOffset, Math.min(wanted.partitionMaxBytes, budget), firstBatchMaxBytes);
      if (read.outOfRange) {
        anyError = true;
        results.push(result(ErrorCode.OFFSET_OUT_OF_RANGE, read.highWatermark, read.logStartOffset));
        continue;
      }
      let size = 0;
      for (const chunk of read.records) size += chunk.length;
      bytes += size;
      budget -= size;
      results.push({ ...result(ErrorCode.NONE, read.highWatermark, read.logStartOffset), records: read.records });
    }
    responses.push({ topic, partitions: results });
  }
  return { responses, bytes, anyError };
}

function logsOf(broker: BrokerContext, request: FetchRequest): PartitionLog[] {
  const logs: PartitionLog[] = [];
  for (const { topic, partitions } of request.topics) {
    for (const { partition } of partitions) {
      const log = broker.topics.partition(topic, partition);
      if (log) logs.push(log);
    }
  }
  return logs;
}

export default defineHandler(API_CODECS.Fetch, async (request, ctx) => {
  const { broker, apiVersion } = ctx;
  // brook declines fetch sessions (session id 0): clients then send full requests. A client
  // that still names a session gets the error that makes it start over.
  if (request.sessionId !== 0 && request.sessionEpoch > 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const deadline = Date.now() + request.maxWaitMs;
  let pass = await readPartitions(broker, request, apiVersion);
  while (pass.bytes < request.minBytes && !pass.anyError && !broker.shutdown.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await waitForAppend(logsOf(broker, request), remaining, broker.shutdown);
    pass = await readPartitions(broker, request, apiVersion);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: pass.responses };
});
