import { AssignmentBuilder, type Assignor, compareMembers, subscribedTopics } from "./assignor.js";

/**
 * Kafka's RangeAssignor: topic by topic, the members subscribed to it (in `compareMembers`
 * order) each get a contiguous range of its partitions; with P partitions and C members,
 * every member gets floor(P/C) and the first P%C one more. Partition n of every topic goes to
 * the same member when subscriptions match, which co-partitioned joins rely on.
 */
export const rangeAssignor: Assignor = {
  name: "range",
  rebalanceProtocol: "eager",
  assign(members, partitionCounts) {
    const assignment = new AssignmentBuilder(members);
    const sorted = [...members].sort(compareMembers);
    for (const topic of subscribedTopics(members, partitionCounts)) {
      const consumers = sorted.filter((member) => member.topics.includes(topic));
      const partitionCount = partitionCounts.get(topic) as number;
      const share = Math.floor(partitionCount / consumers.length);
      const withExtra = partitionCount % consumers.length;
      let next = 0;
      consumers.forEach((member, index) => {
        const count = share + (index < withExtra ? 1 : 0);
        for (let i = 0; i < count; i++) assignment.add(member.memberId, topic, next++);
      });
    }
    return assignment.build();
  },
};
