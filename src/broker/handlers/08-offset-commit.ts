import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/**
 * OffsetCommit, every version: fields a version lacks decode as Kafka's defaults
 * (generation -1 and no member id before v1, commit timestamp and retention -1), which are
 * exactly what the coordinator treats as "not given".
 */
export default defineHandler(API_CODECS.OffsetCommit, async (request, ctx) => ({
  throttleTimeMs: 0,
  topics: await ctx.broker.groups.commitOffsets(request),
}));
