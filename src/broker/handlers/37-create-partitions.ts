import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.CreatePartitions, async (request, ctx) => {
  const results = [];
  for (const { name, count, assignments } of request.topics) {
    if (assignments !== null && assignments.length > 0) {
      results.push({
        name,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: "manual replica assignment is not supported by a single broker",
      });
      continue;
    }
    results.push({ name, ...(await ctx.broker.topics.createPartitions(name, count, request.validateOnly)) });
  }
  return { throttleTimeMs: 0, results };
});
