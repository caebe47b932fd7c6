import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

const MAX_EPOCH = 32767;

export default defineHandler(API_CODECS.InitProducerId, (request, ctx) => {
  const failed = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
  if (request.transactionalId !== null) {
    ctx.broker.logger.warn(
      { clientId: ctx.clientId },
      "InitProducerId for a transactional producer: brook has no transactions",
    );
    return failed(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  // v3+: a producer that hit a fatal sequence error asks to keep its id with a bumped epoch (KIP-360).
  if (request.producerId >= 0 && request.producerEpoch >= 0 && request.producerEpoch < MAX_EPOCH) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch + 1,
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    producerId: ctx.broker.producers.allocateProducerId(),
    producerEpoch: 0,
  };
});
