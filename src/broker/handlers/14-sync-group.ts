import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { syncError } from "../group/results.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.SyncGroup, async (request, ctx) => {
  // From v5 the client must name the protocol type and name it synchronizes.
  const missingProtocol = ctx.apiVersion >= 5 && (request.protocolType === null || request.protocolName === null);
  const result = missingProtocol
    ? syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    : await ctx.broker.groups.syncGroup(request);
  return { throttleTimeMs: 0, ...result };
});
