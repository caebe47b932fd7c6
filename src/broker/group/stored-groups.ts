import type { CommittedOffset, GroupRecord, StoredGroup } from "./group-records.js";

export type TopicOffsets = ReadonlyMap<number, CommittedOffset>;
export type GroupOffsets = ReadonlyMap<string, TopicOffsets>;

/**
 * The state the group records add up to: the latest committed offset per group, topic and
 * partition, and the latest snapshot per group. Both stores keep one; the file store also
 * writes it out whole when it compacts its log.
 */
export class StoredGroups {
  private readonly offsetsByGroup = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  private readonly snapshots = new Map<string, StoredGroup>();

  apply(record: GroupRecord): void {
    switch (record.kind) {
      case "offset": {
        let topics = this.offsetsByGroup.get(record.groupId);
        if (!topics) this.offsetsByGroup.set(record.groupId, (topics = new Map()));
        let partitions = topics.get(record.topic);
        if (!partitions) topics.set(record.topic, (partitions = new Map()));
        partitions.set(record.partition, record.committed);
        break;
      }
      case "offset-removed": {
        const topics = this.offsetsByGroup.get(record.groupId);
        const partitions = topics?.get(record.topic);
        if (!topics || !partitions) break;
        partitions.delete(record.partition);
        if (partitions.size === 0) topics.delete(record.topic);
        if (topics.size === 0) this.offsetsByGroup.delete(record.groupId);
        break;
      }
      case "group":
        this.snapshots.set(record.groupId, record.group);
        break;
      case "group-removed":
        this.snapshots.delete(record.groupId);
        this.offsetsByGroup.delete(record.groupId);
        break;
    }
  }

  /** The group's committed offsets by topic and partition; undefined when it has none. */
  offsets(groupId: string): GroupOffsets | undefined {
    return this.offsetsByGroup.get(groupId);
  }

  snapshot(groupId: string): StoredGroup | undefined {
    return this.snapshots.get(groupId);
  }

  /** Every group that has a snapshot or committed offsets. */
  groupIds(): Set<string> {
    return new Set([...this.snapshots.keys(), ...this.offsetsByGroup.keys()]);
  }

  /** Groups holding offsets for the topic. */
  groupsWithOffsetsFor(topic: string): string[] {
    const found: string[] = [];
    for (const [groupId, topics] of this.offsetsByGroup) if (topics.has(topic)) found.push(groupId);
    return found;
  }

  /** The fewest records that rebuild this state. */
  records(): GroupRecord[] {
    const records: GroupRecord[] = [];
    for (const [groupId, group] of this.snapshots) records.push({ kind: "group", groupId, group });
    for (const [groupId, topics] of this.offsetsByGroup) {
      for (const [topic, partitions] of topics) {
        for (const [partition, committed] of partitions) {
          records.push({ kind: "offset", groupId, topic, partition, committed });
        }
      }
    }
    return records;
  }
}
