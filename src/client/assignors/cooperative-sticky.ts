import {
  type Assignor,
  type AssignorMember,
  compareMembers,
  compareStrings,
  type GroupAssignment,
} from "./assignor.js";

interface Slot {
  member: AssignorMember;
  /** The topics the member subscribes to that exist. */
  topics: ReadonlySet<string>;
  /** Partition keys, sticky ones first. */
  partitions: string[];
  /** Partitions the member held before this round and keeps. */
  kept: Set<string>;
}

const SEPARATOR = "\u0000";
const keyOf = (topic: string, partition: number) => `${topic}${SEPARATOR}${partition}`;
function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(SEPARATOR);
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/**
 * Sticky and cooperative, under Kafka's name "cooperative-sticky" (KIP-429):
 *
 * 1. Stickiness: every member keeps the partitions it owned, when it claims them in the
 *    newest generation any member reports (older claims are stale) and no other member claims
 *    them in that generation too.
 * 2. Balance: the other partitions go one by one to the least loaded member subscribed to
 *    their topic; then, while a member has two partitions more than another that could take
 *    one of them, one moves (preferably one it did not keep). With equal subscriptions every
 *    member ends with floor(P/N) or ceil(P/N); with different ones this reaches a local
 *    optimum, not always the best possible spread.
 * 3. Cooperation: a partition some other member still claims (in any generation) is left out
 *    of its new owner's share for this round. Its current owner sees it missing, revokes it and
 *    rejoins; the next round finds it unowned and hands it over. Nobody consumes a partition
 *    while another member still may.
 */
export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  rebalanceProtocol: "cooperative",
  assign(members, partitionCounts) {
    const slots = [...members].sort(compareMembers).map(
      (member): Slot => ({
        member,
        topics: new Set(member.topics.filter((topic) => partitionCounts.has(topic))),
        partitions: [],
        kept: new Set(),
      }),
    );

    // Who claims each partition, and who may keep it.
    const claimants = new Map<string, Set<string>>();
    const newestGeneration = Math.max(-1, ...members.map((member) => member.generationId));
    const newestClaims = new Map<string, Slot[]>();
    for (const slot of slots) {
      for (const { topic, partitions } of slot.member.ownedPartitions) {
        const partitionCount = partitionCounts.get(topic);
        for (const partition of partitions) {
          const key = keyOf(topic, partition);
          let memberIds = claimants.get(key);
          if (!memberIds) claimants.set(key, (memberIds = new Set()));
          memberIds.add(slot.member.memberId);
          if (slot.member.generationId !== newestGeneration) continue;
          if (partitionCount === undefined || partition >= partitionCount || !slot.topics.has(topic)) continue;
          const claims = newestClaims.get(key);
          if (claims) claims.push(slot);
          else newestClaims.set(key, [slot]);
        }
      }
    }
    const placed = new Set<string>();
    for (const [key, claims] of newestClaims) {
      if (claims.length !== 1) continue;
      const slot = claims[0] as Slot;
      slot.partitions.push(key);
      slot.kept.add(key);
      placed.add(key);
    }

    // Everything else goes to the least loaded member that can take it.
    const topics = [...new Set(slots.flatMap((slot) => [...slot.topics]))].sort(compareStrings);
    for (const topic of topics) {
      const partitionCount = partitionCounts.get(topic) as number;
      for (let partition = 0; partition < partitionCount; partition++) {
        const key = keyOf(topic, partition);
        if (placed.has(key)) continue;
        let target: Slot | undefined;
        for (const slot of slots) {
          if (slot.topics.has(topic) && (!target || slot.partitions.length < target.partitions.length)) target = slot;
        }
        (target as Slot).partitions.push(key);
      }
    }
    balance(slots);

    const assignment: GroupAssignment = new Map();
    for (const slot of slots) {
      const byTopic = new Map<string, number[]>();
      for (const key of slot.partitions) {
        const others = claimants.get(key);
        if (others && !others.has(slot.member.memberId)) continue;
        const [topic, partition] = splitKey(key);
        const list = byTopic.get(topic);
        if (list) list.push(partition);
        else byTopic.set(topic, [partition]);
      }
      assignment.set(
        slot.member.memberId,
        [...byTopic.keys()]
          .sort(compareStrings)
          .map((topic) => ({ topic, partitions: (byTopic.get(topic) as number[]).sort((a, b) => a - b) })),
      );
    }
    return assignment;
  },
};

/**
 * Moves one partition at a time from a member to one holding at least two fewer that is
 * subscribed to its topic, until no such move exists. Every move lowers the sum of the squared
 * loads, so the loop ends.
 */
function balance(slots: Slot[]): void {
  for (;;) {
    const byLoad = [...slots].sort((a, b) => b.partitions.length - a.partitions.length);
    let moved = false;
    search: for (const from of byLoad) {
      for (let i = byLoad.length - 1; i >= 0; i--) {
        const to = byLoad[i] as Slot;
        if (from.partitions.length - to.partitions.length < 2) break;
        const index = movablePartition(from, to);
        if (index < 0) continue;
        const [key] = from.partitions.splice(index, 1) as [string];
        from.kept.delete(key);
        to.partitions.push(key);
        moved = true;
        break search;
      }
    }
    if (!moved) return;
  }
}

/** The index in `from` of the partition to give `to`: the last one it did not keep, else the last it can. */
function movablePartition(from: Slot, to: Slot): number {
  let fallback = -1;
  for (let i = from.partitions.length - 1; i >= 0; i--) {
    const key = from.partitions[i] as string;
    if (!to.topics.has(splitKey(key)[0])) continue;
    if (!from.kept.has(key)) return i;
    if (fallback < 0) fallback = i;
  }
  return fallback;
}
