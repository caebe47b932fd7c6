import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.OffsetDelete, async (request, ctx) => ({
  throttleTimeMs: 0,
  ...(await ctx.broker.groups.deleteOffsets(request)),
}));
