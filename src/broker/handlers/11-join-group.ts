import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.JoinGroup, async (request, ctx) => {
  const version = ctx.apiVersion;
  const result = await ctx.broker.groups.joinGroup(
    // v0 has no rebalance timeout: the session timeout serves as both.
    version === 0 ? { ...request, rebalanceTimeoutMs: request.sessionTimeoutMs } : request,
    {
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
      requireKnownMemberId: version >= 4,
      supportsSkippingAssignment: version >= 9,
    },
  );
  return {
    throttleTimeMs: 0,
    ...result,
    members: [...result.members],
    // The protocol name may be null only from v7; before, "no protocol" is an empty string.
    protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ""),
  };
});
