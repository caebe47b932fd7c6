import { ErrorCode } from "../../protocol/errors.js";
import type { BrokerContext } from "../broker-context.js";
import { ResourceType } from "../config-resources.js";
import type { ConfigOverrides } from "../topic-config.js";
import type { TopicResult } from "../topic-manager.js";

/** The part AlterConfigs and IncrementalAlterConfigs share: resource checks, then the topic change. */
export async function alterTopicConfigs(
  broker: BrokerContext,
  resourceType: number,
  resourceName: string,
  validateOnly: boolean,
  change: (current: ConfigOverrides) => Record<string, string> | string,
): Promise<TopicResult> {
  if (resourceType === ResourceType.BROKER) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "broker settings are read-only: set them at start" };
  }
  if (resourceType !== ResourceType.TOPIC) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${resourceType} is not supported` };
  }
  let problem: string | undefined;
  const outcome = await broker.topics.alterConfigs(
    resourceName,
    (current) => {
      const next = change(current);
      if (typeof next === "string") {
        problem = next;
        return { ...current };
      }
      return next;
    },
    validateOnly || false,
  );
  if (problem !== undefined) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: problem };
  return outcome;
}
