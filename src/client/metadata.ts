import type { MetadataResponse } from "../protocol/generated/metadata.js";

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** Node id of the leader; -1 while there is none (an election, a topic being created). */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The partition's error in the last metadata response (LEADER_NOT_AVAILABLE...), 0 if none. */
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  /** The topic's UUID (Metadata v10+), all zeros when the broker does not send one. */
  topicId: string;
  internal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
  /** When this topic's entry was fetched (Date.now() scale), for metadataMaxAgeMs. */
  fetchedAt: number;
}

/**
 * One immutable view of the cluster, replaced as a whole on every refresh, so a reader never
 * sees half an update. Topics not asked for in a refresh keep their previous entry.
 */
export class ClusterMetadata {
  constructor(
    readonly clusterId: string | null,
    /** -1 when unknown; some brokers (librdkafka's mock) name a node that does not exist. */
    readonly controllerId: number,
    readonly brokers: ReadonlyMap<number, BrokerInfo>,
    readonly topics: ReadonlyMap<string, TopicInfo>,
    /** Kafka error code per topic name from the last response that mentioned it, for topics in error. */
    readonly topicErrors: ReadonlyMap<string, number>,
  ) {}

  static empty(): ClusterMetadata {
    return new ClusterMetadata(null, -1, new Map(), new Map(), new Map());
  }

  /**
   * The view after `response`. `requested` are the topics the request named (null: all topics,
   * and then topics missing from the response are gone).
   */
  merge(response: MetadataResponse, requested: readonly string[] | null, now = Date.now()): ClusterMetadata {
    const brokers = new Map<number, BrokerInfo>();
    for (const b of response.brokers)
      brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    const topics = new Map(requested === null ? [] : this.topics);
    const topicErrors = new Map(requested === null ? [] : this.topicErrors);
    for (const topic of response.topics) {
      if (topic.name === null) continue;
      if (topic.errorCode !== 0) {
        topicErrors.set(topic.name, topic.errorCode);
        // A topic being created or elected answers LEADER_NOT_AVAILABLE with no partitions yet.
        if (topic.partitions.length === 0) {
          topics.delete(topic.name);
          continue;
        }
      } else {
        topicErrors.delete(topic.name);
      }
      const partitions: PartitionInfo[] = [];
      for (const p of topic.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }
      topics.set(topic.name, {
        name: topic.name,
        topicId: topic.topicId,
        internal: topic.isInternal,
        partitions,
        fetchedAt: now,
      });
    }
    return new ClusterMetadata(response.clusterId, response.controllerId, brokers, topics, topicErrors);
  }
}
