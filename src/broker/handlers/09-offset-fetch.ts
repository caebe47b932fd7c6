import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import type { FetchOffsetsResult } from "../group/coordinator.js";
import { defineHandler } from "./handler.js";

/**
 * OffsetFetch: v0–7 ask about one group (null topics from v2 = all it committed), v8 about
 * several. A group-level error has no field of its own before v2: there it goes on every
 * requested partition.
 */
export default defineHandler(API_CODECS.OffsetFetch, (request, ctx) => {
  const groups = ctx.broker.groups;
  const version = ctx.apiVersion;
  if (version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((group) => ({
        groupId: group.groupId,
        ...groups.fetchOffsets(group.groupId, group.topics),
      })),
    };
  }
  const result = groups.fetchOffsets(request.groupId, request.topics);
  if (version < 2 && result.errorCode !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: errorOnEveryPartition(request.topics ?? [], result.errorCode) };
  }
  return { throttleTimeMs: 0, errorCode: result.errorCode, topics: result.topics };
});

function errorOnEveryPartition(
  topics: readonly { name: string; partitionIndexes: number[] }[],
  errorCode: number,
): FetchOffsetsResult["topics"] {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode,
    })),
  }));
}
