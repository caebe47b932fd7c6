import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS, type ListOffsetsPartitionResponseInput } from "../../protocol/generated/index.js";
import { offsetForTimestamp } from "../timestamp-lookup.js";
import { defineHandler } from "./handler.js";
import { checkLeaderEpoch, LEADER_EPOCH } from "./leader-epoch.js";

/** The special timestamps of ListOffsets. */
const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

export default defineHandler(API_CODECS.ListOffsets, async (request, ctx) => {
  const { topics } = ctx.broker;
  const version = ctx.apiVersion;
  const responseTopics = [];
  for (const { name, partitions } of request.topics) {
    const results: ListOffsetsPartitionResponseInput[] = [];
    for (const { partitionIndex, currentLeaderEpoch, timestamp } of partitions) {
      const answer = (errorCode: number, offset = -1, foundAt = -1): ListOffsetsPartitionResponseInput => ({
        partitionIndex,
        errorCode,
        // v0 answered with a list of offsets; later versions with one offset and its timestamp.
        oldStyleOffsets: version === 0 && offset >= 0 ? [offset] : [],
        timestamp: foundAt,
        offset,
        leaderEpoch: LEADER_EPOCH,
      });
      const log = topics.partition(name, partitionIndex);
      if (!log) {
        results.push(answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      const epochError = checkLeaderEpoch(currentLeaderEpoch);
      if (epochError !== ErrorCode.NONE) {
        results.push(answer(epochError));
        continue;
      }
      if (timestamp === LATEST) results.push(answer(ErrorCode.NONE, log.highWatermark));
      else if (timestamp === EARLIEST) results.push(answer(ErrorCode.NONE, log.logStartOffset));
      else if (timestamp === MAX_TIMESTAMP) {
        const entry = log.maxTimestampEntry();
        results.push(entry ? answer(ErrorCode.NONE, entry.offset, entry.timestamp) : answer(ErrorCode.NONE));
      } else if (timestamp < 0) {
        results.push(answer(ErrorCode.INVALID_REQUEST));
      } else {
        const found = await offsetForTimestamp(log, timestamp);
        results.push(found ? answer(ErrorCode.NONE, found.offset, found.timestamp) : answer(ErrorCode.NONE));
      }
    }
    responseTopics.push({ name, partitions: results });
  }
  return { throttleTimeMs: 0, topics: responseTopics };
});
