import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS, type MetadataResponseTopicInput } from "../../protocol/generated/index.js";
import type { Topic } from "../topic-manager.js";
import { defineHandler } from "./handler.js";

const OPERATIONS_NOT_REQUESTED = -2147483648;
const NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000";

export default defineHandler(API_CODECS.Metadata, async (request, ctx) => {
  const { config, topics } = ctx.broker;
  const version = ctx.apiVersion;
  // v0 names all topics with an empty list; later versions with null.
  const wantsAll = request.topics === null || (version === 0 && request.topics.length === 0);
  // Before v4 there was no flag and Kafka created topics whenever the broker allowed it.
  const mayCreate = config.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation);

  const described = (topic: Topic): MetadataResponseTopicInput => ({
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: false,
    partitions: Array.from({ length: topic.partitionCount }, (_, partitionIndex) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: config.nodeId,
      leaderEpoch: 0,
      replicaNodes: [config.nodeId],
      isrNodes: [config.nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  });
  const failed = (name: string | null, topicId: string, errorCode: number): MetadataResponseTopicInput => ({
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  });

  let responseTopics: MetadataResponseTopicInput[];
  if (wantsAll) {
    responseTopics = topics.all().map(described);
  } else {
    responseTopics = await Promise.all(
      (request.topics ?? []).map(async ({ name, topicId }) => {
        if (name === null) {
          const byId = topics.byId(topicId);
          return byId ? described(byId) : failed(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID);
        }
        const existing = topics.get(name);
        if (existing) return described(existing);
        if (!mayCreate) return failed(name, NO_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const created = await topics.create(name, { partitions: config.defaultPartitions });
        // A racing creation by another request is fine: the topic exists either way.
        const topic = topics.get(name);
        if (topic) return described(topic);
        return failed(name, NO_TOPIC_ID, created.errorCode);
      }),
    );
  }

  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: config.nodeId, host: config.advertisedHost, port: config.advertisedPort, rack: null }],
    clusterId: config.clusterId,
    controllerId: config.nodeId,
    topics: responseTopics,
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
});
