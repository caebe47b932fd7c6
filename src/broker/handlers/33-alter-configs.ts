import { API_CODECS } from "../../protocol/generated/index.js";
import { alterTopicConfigs } from "./alter-topic-configs.js";
import { defineHandler } from "./handler.js";

/** AlterConfigs replaces the whole set of a topic's overrides with the ones given. */
export default defineHandler(API_CODECS.AlterConfigs, async (request, ctx) => {
  const responses = [];
  for (const { resourceType, resourceName, configs } of request.resources) {
    const outcome = await alterTopicConfigs(ctx.broker, resourceType, resourceName, request.validateOnly, () => {
      const next: Record<string, string> = {};
      for (const { name, value } of configs) if (value !== null) next[name] = value;
      return next;
    });
    responses.push({ resourceType, resourceName, ...outcome });
  }
  return { throttleTimeMs: 0, responses };
});
