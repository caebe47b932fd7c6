import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** Kafka's "no authorized operations were requested" marker. */
const OPERATIONS_NOT_REQUESTED = -2147483648;
/** READ, DELETE and DESCRIBE (ACL operation codes 3, 6, 8): all a group has; brook has no ACLs. */
const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export default defineHandler(API_CODECS.DescribeGroups, (request, ctx) => {
  const authorizedOperations = request.includeAuthorizedOperations ? ALL_GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
  return {
    throttleTimeMs: 0,
    groups: ctx.broker.groups.describeGroups(request.groups).map((group) => ({ ...group, authorizedOperations })),
  };
});
