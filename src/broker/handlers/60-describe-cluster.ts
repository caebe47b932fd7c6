import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** Kafka's "no authorized operations were requested" marker. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

export default defineHandler(API_CODECS.DescribeCluster, (_request, ctx) => {
  const { nodeId, advertisedHost, advertisedPort, clusterId } = ctx.broker.config;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: 1,
    clusterId,
    controllerId: nodeId,
    brokers: [{ brokerId: nodeId, host: advertisedHost, port: advertisedPort, rack: null }],
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
});
