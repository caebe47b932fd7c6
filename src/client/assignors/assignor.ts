/** Partitions of one topic. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** What the group leader knows about a member when it computes the assignment. */
export interface AssignorMember {
  memberId: string;
  /** The static member's id (KIP-345), or null. */
  groupInstanceId: string | null;
  /** The topics the member subscribes to. */
  topics: readonly string[];
  /** The partitions the member held in `generationId` (consumer protocol v1+). */
  ownedPartitions: readonly TopicPartitions[];
  /** The generation `ownedPartitions` belong to; -1 when the member does not say (protocol v0/v1). */
  generationId: number;
  userData: Buffer | null;
}

/** Each member's partitions, by member id; every member of the input appears, even with none. */
export type GroupAssignment = Map<string, TopicPartitions[]>;

/**
 * A partition assignment strategy of the classic consumer protocol. The group leader's
 * consumer runs the strategy all members agreed on (by `name`) and sends the result to the
 * coordinator, which hands every member its share.
 */
export interface Assignor {
  /** The protocol name members announce in JoinGroup ("range", "cooperative-sticky"...). */
  readonly name: string;
  /**
   * "eager": members give up all their partitions before every rebalance. "cooperative":
   * members keep consuming through a rebalance and give up only the partitions that move,
   * so the strategy must never hand a partition to a new owner in the round its previous
   * owner still holds it.
   */
  readonly rebalanceProtocol: "eager" | "cooperative";
  /** `partitionCounts` has every subscribed topic that exists; members' other topics are ignored. */
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): GroupAssignment;
}

/**
 * The order in which strategies deal partitions to members, as Kafka's assignors use it:
 * static members first by instance id (so a restart does not reshuffle them), then the
 * others by member id.
 */
export function compareMembers(a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null)
    return compareStrings(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

/** Code-unit order, as Java's String.compareTo: independent of the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Collects partitions by topic, in insertion order, into the wire shape. */
export class AssignmentBuilder {
  private readonly byMember = new Map<string, Map<string, number[]>>();

  constructor(members: readonly AssignorMember[]) {
    for (const member of members) this.byMember.set(member.memberId, new Map());
  }

  add(memberId: string, topic: string, partition: number): void {
    const topics = this.byMember.get(memberId) as Map<string, number[]>;
    const partitions = topics.get(topic);
    if (partitions) partitions.push(partition);
    else topics.set(topic, [partition]);
  }

  build(): GroupAssignment {
    const result: GroupAssignment = new Map();
    for (const [memberId, topics] of this.byMember) {
      result.set(
        memberId,
        [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      );
    }
    return result;
  }
}

/** The subscribed topics that exist, sorted. */
export function subscribedTopics(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): string[] {
  const topics = new Set<string>();
  for (const member of members) for (const topic of member.topics) if (partitionCounts.has(topic)) topics.add(topic);
  return [...topics].sort(compareStrings);
}
