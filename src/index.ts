// The brook package: `import { Producer, Consumer, Admin } from "brook"`.
export {
  Admin,
  type AdminOptions,
  type CommittedOffset,
  type ConfigChange,
  type ConfigDescription,
  type ConfigEntry,
  type ConfigResource,
  type ConfigResourceType,
  type ConfigSource,
  type GroupDescription,
  type GroupListing,
  type GroupMemberDescription,
  type LogDirDescription,
  type NewTopic,
  type OffsetSpec,
  type OffsetToCommit,
  type PartitionDescription,
  type PartitionLag,
  type PartitionOffset,
  type TopicDescription,
  type TopicPartition,
  type TopicPartitions,
} from "./client/admin.js";
export { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor } from "./client/assignors/index.js";

export type { SendOptions } from "./client/broker-session.js";
export { Cluster, type CoordinatorType, type TopicLookupOptions } from "./client/cluster.js";
export { ConnectionError } from "./client/connection.js";
export { deserializers } from "./client/consumer/deserializers.js";
export {
  type Assignor,
  type AssignorMember,
  type AssignorName,
  type CommitOffset,
  type CommitTarget,
  Consumer,
  ConsumerMessage,
  type ConsumerOptions,
  type Deserializer,
  type DeserializerName,
  type GroupAssignment,
  type MessageHeader,
  type OffsetResetPolicy,
  type PartitionAssignment,
  type PollOptions,
  type RebalanceListener,
  type SeekTarget,
  type SubscribeOptions,
  type TopicPartitionOffset,
} from "./client/consumer.js";
export { BrookError, type BrookErrorCode } from "./client/errors.js";
export type { BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo } from "./client/metadata.js";
export type { ClientOptions } from "./client/options.js";
export {
  createDefaultPartitioner,
  createRoundRobinPartitioner,
  murmur2,
  murmur2Partition,
  type Partitioner,
  type PartitionerInput,
} from "./client/partitioners.js";
export {
  type CompressionName,
  type MessageHeaders,
  Producer,
  type ProducerMessage,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
} from "./client/producer.js";
export type { RetryOptions } from "./client/retry.js";
export type { SaslMechanismName, SaslOptions } from "./client/sasl.js";
export { type SerializedBytes, type Serializer, type SerializerName, serializers } from "./client/serializers.js";
