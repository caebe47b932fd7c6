import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.DeleteGroups, async (request, ctx) => ({
  throttleTimeMs: 0,
  results: await ctx.broker.groups.deleteGroups(request.groupsNames),
}));
