import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** LeaveGroup: v0–2 name one member; from v3 a batch, each member with its own error. */
export default defineHandler(API_CODECS.LeaveGroup, (request, ctx) => {
  const single = ctx.apiVersion <= 2;
  const leaving = single ? [{ memberId: request.memberId, groupInstanceId: null, reason: null }] : request.members;
  const result = ctx.broker.groups.leaveGroup(request.groupId, leaving);
  if (single) {
    // One error only: the group's, else the member's.
    const memberError = result.members[0]?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError };
  }
  return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
});
