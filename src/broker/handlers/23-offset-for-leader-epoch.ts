import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";
import { checkLeaderEpoch, LEADER_EPOCH } from "./leader-epoch.js";

/**
 * Consumers validate their position after a leader change with this API. brook's partitions
 * have had one leader epoch (0) since they were created, so its end is the log end.
 */
export default defineHandler(API_CODECS.OffsetForLeaderEpoch, (request, ctx) => {
  const topics = request.topics.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }) => {
      const log = ctx.broker.topics.partition(topic, partition);
      const answer = (errorCode: number, epoch: number, endOffset: number) => ({
        errorCode,
        partition,
        leaderEpoch: epoch,
        endOffset,
      });
      if (!log) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
      const epochError = checkLeaderEpoch(currentLeaderEpoch);
      if (epochError !== ErrorCode.NONE) return answer(epochError, -1, -1);
      // An epoch we never had: Kafka answers "undefined" (-1, -1) and the client resets.
      if (leaderEpoch > LEADER_EPOCH || leaderEpoch < 0) return answer(ErrorCode.NONE, -1, -1);
      return answer(ErrorCode.NONE, LEADER_EPOCH, log.logEndOffset);
    }),
  }));
  return { throttleTimeMs: 0, topics };
});
