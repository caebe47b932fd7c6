import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS, type CreateTopicsResponseCreatableTopicResultInput } from "../../protocol/generated/index.js";
import { resolveTopicConfigs } from "../topic-config.js";
import { defineHandler } from "./handler.js";

const NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000";

export default defineHandler(API_CODECS.CreateTopics, async (request, ctx) => {
  const { topics, config } = ctx.broker;
  const seen = new Set<string>();
  const duplicates = new Set(request.topics.map((t) => t.name).filter((n) => seen.has(n) || !seen.add(n)));

  const results: CreateTopicsResponseCreatableTopicResultInput[] = [];
  for (const wanted of request.topics) {
    const result = (errorCode: number, errorMessage: string | null): CreateTopicsResponseCreatableTopicResultInput => ({
      name: wanted.name,
      topicId: NO_TOPIC_ID,
      errorCode,
      errorMessage,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null,
    });
    if (duplicates.has(wanted.name)) {
      results.push(result(ErrorCode.INVALID_REQUEST, `topic "${wanted.name}" appears more than once in the request`));
      continue;
    }
    // One broker holds one copy: a replication factor above 1 cannot be honoured.
    if (wanted.replicationFactor > 1) {
      results.push(
        result(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${wanted.replicationFactor} > 1 broker`),
      );
      continue;
    }
    if (wanted.assignments.length > 0) {
      results.push(result(ErrorCode.INVALID_REQUEST, "manual replica assignment is not supported by a single broker"));
      continue;
    }
    const partitions = wanted.numPartitions === -1 ? config.defaultPartitions : wanted.numPartitions;
    const configs: Record<string, string> = {};
    for (const { name, value } of wanted.configs) if (value !== null) configs[name] = value;
    const outcome = await topics.create(wanted.name, { partitions, configs, validateOnly: request.validateOnly });
    if (outcome.errorCode !== ErrorCode.NONE) {
      results.push(result(outcome.errorCode, outcome.errorMessage));
      continue;
    }
    const topic = topics.get(wanted.name);
    results.push({
      name: wanted.name,
      topicId: topic?.id ?? NO_TOPIC_ID,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitions,
      replicationFactor: 1,
      configs: resolveTopicConfigs(configs, config.topicDefaults).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: false,
        configSource: c.source,
        isSensitive: false,
      })),
    });
  }
  return { throttleTimeMs: 0, topics: results };
});
