import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

const NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000";

export default defineHandler(API_CODECS.DeleteTopics, async (request, ctx) => {
  const { topics } = ctx.broker;
  // Up to v5 topics are named in topicNames; v6 names them, or gives their ids, in topics.
  const targets =
    ctx.apiVersion >= 6
      ? request.topics.map(({ name, topicId }) => ({ name, topicId }))
      : request.topicNames.map((name) => ({ name, topicId: NO_TOPIC_ID }));
  const responses = [];
  for (const target of targets) {
    const topic = target.name !== null ? topics.get(target.name) : topics.byId(target.topicId);
    if (!topic) {
      const errorCode = target.name !== null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID;
      responses.push({ name: target.name, topicId: target.topicId, errorCode, errorMessage: null });
      continue;
    }
    const outcome = await topics.delete(topic.name);
    responses.push({ name: topic.name, topicId: topic.id, ...outcome });
  }
  return { throttleTimeMs: 0, responses };
});
