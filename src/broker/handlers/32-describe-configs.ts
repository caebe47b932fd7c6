import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS, type DescribeConfigsResultInput } from "../../protocol/generated/index.js";
import { brokerConfigs, ResourceType } from "../config-resources.js";
import { ConfigSource, type ResolvedConfig, resolveTopicConfigs } from "../topic-config.js";
import { defineHandler } from "./handler.js";

export default defineHandler(API_CODECS.DescribeConfigs, (request, ctx) => {
  const { topics, config } = ctx.broker;
  const results = request.resources.map(
    ({ resourceType, resourceName, configurationKeys }): DescribeConfigsResultInput => {
      const answer = (errorCode: number, errorMessage: string | null, configs: ResolvedConfig[] = []) => ({
        errorCode,
        errorMessage,
        resourceType,
        resourceName,
        configs: configs
          .filter((c) => configurationKeys === null || configurationKeys.includes(c.name))
          .map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: resourceType === ResourceType.BROKER,
            isDefault: c.source === ConfigSource.DEFAULT_CONFIG,
            configSource: c.source,
            isSensitive: false,
            synonyms: request.includeSynonyms ? c.synonyms : [],
            configType: c.type,
            documentation: request.includeDocumentation ? c.documentation : null,
          })),
      });
      if (resourceType === ResourceType.TOPIC) {
        const topic = topics.get(resourceName);
        if (!topic) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${resourceName}" does not exist`);
        return answer(ErrorCode.NONE, null, resolveTopicConfigs(topic.overrides, config.topicDefaults));
      }
      if (resourceType === ResourceType.BROKER) {
        // "" asks for the cluster-wide defaults, which on one broker are this broker's settings.
        if (resourceName !== "" && resourceName !== String(config.nodeId)) {
          return answer(
            ErrorCode.INVALID_REQUEST,
            `there is no broker ${resourceName}; this is broker ${config.nodeId}`,
          );
        }
        return answer(ErrorCode.NONE, null, brokerConfigs(config));
      }
      return answer(ErrorCode.INVALID_REQUEST, `resource type ${resourceType} is not supported`);
    },
  );
  return { throttleTimeMs: 0, results };
});
