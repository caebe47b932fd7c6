import { AssignmentBuilder, type Assignor, compareMembers, subscribedTopics } from "./assignor.js";

/**
 * Kafka's RoundRobinAssignor: every subscribed partition, sorted by topic then number, is
 * dealt in turn to the members (in `compareMembers` order), skipping members not subscribed
 * to its topic.
 */
export const roundRobinAssignor: Assignor = {
  name: "roundrobin",
  rebalanceProtocol: "eager",
  assign(members, partitionCounts) {
    const assignment = new AssignmentBuilder(members);
    const sorted = [...members].sort(compareMembers);
    let turn = 0;
    for (const topic of subscribedTopics(members, partitionCounts)) {
      const partitionCount = partitionCounts.get(topic) as number;
      for (let partition = 0; partition < partitionCount; partition++) {
        // The topic has a subscriber (subscribedTopics says so): this stops within one lap.
        while (!sorted[turn % sorted.length]?.topics.includes(topic)) turn++;
        assignment.add(sorted[turn % sorted.length]?.memberId as string, topic, partition);
        turn++;
      }
    }
    return assignment.build();
  },
};
