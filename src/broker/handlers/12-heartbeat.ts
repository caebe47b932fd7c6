import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.Heartbeat, (request, ctx) => ({
  throttleTimeMs: 0,
  errorCode: ctx.broker.groups.heartbeat(request),
}));
