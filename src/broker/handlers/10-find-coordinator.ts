import { ErrorCode, errorName } from "../../protocol/errors.js";
import { API_CODECS, type FindCoordinatorResponseCoordinatorInput } from "../../protocol/generated/index.js";
import type { BrokerConfig } from "../broker-context.js";
import { defineHandler } from "./handler.js";

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

/**
 * FindCoordinator: this broker coordinates every group and every transactional id, so each
 * key is answered with its own address. v4 asks for several keys at once. An empty key is
 * answered like any other, as Kafka does; the group APIs then reject the empty group id.
 */
export default defineHandler(API_CODECS.FindCoordinator, (request, ctx) => {
  const config = ctx.broker.config;
  const known = request.keyType === GROUP_KEY || request.keyType === TRANSACTION_KEY;
  if (ctx.apiVersion >= 4) {
    return {
      throttleTimeMs: 0,
      coordinators: request.coordinatorKeys.map((key) => coordinatorFor(key, known, config)),
    };
  }
  const { errorCode, errorMessage, nodeId, host, port } = coordinatorFor(request.key, known, config);
  return { throttleTimeMs: 0, errorCode, errorMessage, nodeId, host, port };
});

function coordinatorFor(
  key: string,
  knownKeyType: boolean,
  config: BrokerConfig,
): FindCoordinatorResponseCoordinatorInput {
  if (!knownKeyType) {
    // Kafka fails the whole request as invalid; there is no node to name.
    return {
      key,
      nodeId: -1,
      host: "",
      port: -1,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `${errorName(ErrorCode.INVALID_REQUEST)}: unknown coordinator key type`,
    };
  }
  return {
    key,
    nodeId: config.nodeId,
    host: config.advertisedHost,
    port: config.advertisedPort,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
  };
}
