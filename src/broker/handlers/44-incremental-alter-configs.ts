import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { TOPIC_CONFIGS } from "../topic-config.js";
import { alterTopicConfigs } from "./alter-topic-configs.js";
import { defineHandler } from "./handler.js";

/** Kafka's AlterConfigOp types. */
const Operation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** IncrementalAlterConfigs edits a topic's overrides one key at a time. */
export default defineHandler(API_CODECS.IncrementalAlterConfigs, async (request, ctx) => {
  const responses = [];
  for (const { resourceType, resourceName, configs } of request.resources) {
    const names = configs.map((config) => config.name);
    if (new Set(names).size !== names.length) {
      // As Kafka: two operations on one key in one request have no defined order between them.
      const duplicate = names.find((name, i) => names.indexOf(name) !== i);
      responses.push({
        resourceType,
        resourceName,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `config ${duplicate} appears more than once`,
      });
      continue;
    }
    const outcome = await alterTopicConfigs(ctx.broker, resourceType, resourceName, request.validateOnly, (current) => {
      const next: Record<string, string> = { ...current };
      for (const { name, configOperation, value } of configs) {
        const listValue = () =>
          (next[name] ?? TOPIC_CONFIGS[name]?.defaultValue ?? "")
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
        switch (configOperation) {
          case Operation.SET:
            if (value === null) return `a value is required to set ${name}`;
            next[name] = value;
            break;
          case Operation.DELETE:
            delete next[name];
            break;
          case Operation.APPEND:
          case Operation.SUBTRACT: {
            if (name !== "cleanup.policy") return `${name} is not a list: it cannot be appended to or subtracted from`;
            const items = listValue();
            const given = (value ?? "").split(",").map((s) => s.trim());
            const result =
              configOperation === Operation.APPEND
                ? [...items, ...given.filter((g) => !items.includes(g))]
                : items.filter((i) => !given.includes(i));
            next[name] = result.join(",");
            break;
          }
          default:
            return `unknown config operation ${configOperation}`;
        }
      }
      return next;
    });
    responses.push({ resourceType, resourceName, ...outcome });
  }
  return { throttleTimeMs: 0, responses };
});
