import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** DeleteRecords' "up to the high watermark" marker. */
const HIGH_WATERMARK = -1;

export default defineHandler(API_CODECS.DeleteRecords, async (request, ctx) => {
  const topics = [];
  for (const { name, partitions } of request.topics) {
    const results = [];
    for (const { partitionIndex, offset } of partitions) {
      const log = ctx.broker.topics.partition(name, partitionIndex);
      if (!log) {
        results.push({ partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        continue;
      }
      const target = offset === HIGH_WATERMARK ? log.highWatermark : offset;
      if (target < 0 || target > log.highWatermark) {
        results.push({ partitionIndex, lowWatermark: log.logStartOffset, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
        continue;
      }
      const lowWatermark = await log.deleteRecordsBefore(target);
      results.push({ partitionIndex, lowWatermark, errorCode: ErrorCode.NONE });
    }
    topics.push({ name, partitions: results });
  }
  return { throttleTimeMs: 0, topics };
});
