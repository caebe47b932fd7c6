import { ErrorCode } from "../../protocol/errors.js";
import {
  API_CODECS,
  type ProduceRequestPartitionProduceData,
  type ProduceResponsePartitionProduceResponseInput,
} from "../../protocol/generated/index.js";
import { CloseConnection } from "../dispatcher.js";
import { prepareBatches } from "../produce-validation.js";
import { StorageError } from "../storage/storage-error.js";
import { defineHandler, NO_RESPONSE, type RequestContext } from "./handler.js";

type PartitionResult = ProduceResponsePartitionProduceResponseInput;

const result = (index: number, errorCode: number, errorMessage: string | null = null): PartitionResult => ({
  index,
  errorCode,
  baseOffset: -1,
  logAppendTimeMs: -1,
  logStartOffset: -1,
  recordErrors: [],
  errorMessage,
});

/**
 * Validates and appends one partition's batches. The sequence check and its bookkeeping run
 * before the first await, so that pipelined requests of one producer are checked in order.
 */
function producePartition(
  ctx: RequestContext,
  topicName: string,
  data: ProduceRequestPartitionProduceData,
): PartitionResult | Promise<PartitionResult> {
  const { broker, apiVersion } = ctx;
  const topic = broker.topics.get(topicName);
  const log = topic?.partitions[data.index];
  if (!topic || !log) return result(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  const prepared = prepareBatches(data.records, apiVersion, topic.settings.maxMessageBytes);
  if (!prepared.ok) {
    broker.logger.info({ topic: topicName, partition: data.index, reason: prepared.message }, "produce rejected");
    return result(data.index, prepared.errorCode, prepared.message);
  }
  const logAppendTime = topic.settings.logAppendTime ? Date.now() : undefined;

  let recordAppend: ((baseOffset: Promise<number>) => void) | undefined;
  const { idempotence } = prepared;
  if (idempotence) {
    const check = broker.producers.check(
      topicName,
      data.index,
      idempotence.producerId,
      idempotence.producerEpoch,
      idempotence.baseSequence,
      idempotence.recordCount,
    );
    if (check.kind === "error") return result(data.index, check.errorCode);
    if (check.kind === "duplicate") {
      // A retry of a batch already in the log: answer with its original offset, write nothing.
      return check.baseOffset.then(
        (baseOffset) => ({ ...result(data.index, ErrorCode.NONE), baseOffset, logStartOffset: log.logStartOffset }),
        () => result(data.index, ErrorCode.KAFKA_STORAGE_ERROR),
      );
    }
    recordAppend = check.record;
  }

  const appended = prepared.batches.then((batches) => log.append(batches, { logAppendTime }));
  recordAppend?.(appended.then((a) => a.baseOffset));
  return appended.then(
    (a) => ({
      ...result(data.index, ErrorCode.NONE),
      baseOffset: a.baseOffset,
      logAppendTimeMs: a.logAppendTime,
      logStartOffset: log.logStartOffset,
    }),
    (error: unknown) => {
      if (error instanceof StorageError) {
        broker.logger.error({ topic: topicName, partition: data.index, err: error }, "append failed");
        return result(data.index, ErrorCode[error.code] ?? ErrorCode.KAFKA_STORAGE_ERROR, error.message);
      }
      broker.logger.warn({ topic: topicName, partition: data.index, err: error }, "produce rejected");
      return result(data.index, ErrorCode.CORRUPT_MESSAGE, (error as Error).message);
    },
  );
}

export default defineHandler(API_CODECS.Produce, async (request, ctx) => {
  const validAcks = request.acks === 0 || request.acks === 1 || request.acks === -1;
  const transactional = request.transactionalId !== null;
  const responses = await Promise.all(
    request.topicData.map(async ({ name, partitionData }) => ({
      name,
      partitionResponses: await Promise.all(
        partitionData.map((data) => {
          if (!validAcks) return result(data.index, ErrorCode.INVALID_REQUIRED_ACKS);
          if (transactional) {
            return result(
              data.index,
              ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
              "transactions are not supported",
            );
          }
          return producePartition(ctx, name, data);
        }),
      ),
    })),
  );
  if (request.acks === 0) {
    // An acks=0 producer reads no response; closing the connection is the only error signal it gets.
    const failed = responses.flatMap((t) => t.partitionResponses).find((p) => p.errorCode !== ErrorCode.NONE);
    if (failed) throw new CloseConnection(`acks=0 produce failed with error ${failed.errorCode}`);
    return NO_RESPONSE;
  }
  return { responses, throttleTimeMs: 0 };
});
