import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** ListGroups; the state filter (v4) and type filter (v5) decode as empty in older versions. */
export default defineHandler(API_CODECS.ListGroups, (request, ctx) => ({
  throttleTimeMs: 0,
  ...ctx.broker.groups.listGroups(request.statesFilter, request.typesFilter),
}));
