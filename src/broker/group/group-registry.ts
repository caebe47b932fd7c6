import { Group } from "./group.js";
import type { GroupRecord } from "./group-records.js";
import type { StoredGroups } from "./stored-groups.js";

/**
 * The groups the coordinator knows, by id. A group lives while it has members, pending
 * members, committed offsets or a stored snapshot; the methods here decide when it goes.
 */
export class GroupRegistry {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly stored: StoredGroups) {}

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** Whether the group is still the one registered under its id: timers and writes outlive groups. */
  isCurrent(group: Group): boolean {
    return this.groups.get(group.groupId) === group;
  }

  create(groupId: string, now: number): Group {
    return this.add(new Group(groupId, now));
  }

  add(group: Group): Group {
    this.groups.set(group.groupId, group);
    return group;
  }

  values(): IterableIterator<Group> {
    return this.groups.values();
  }

  get size(): number {
    return this.groups.size;
  }

  clear(): void {
    this.groups.clear();
  }

  /**
   * Marks the group Dead and forgets it. Returns the record that removes it from the store,
   * or null if the store holds nothing of it.
   */
  remove(group: Group, now: number): GroupRecord | null {
    group.cancelTimers();
    group.pendingMembers.clear();
    group.transitionTo("Dead", now);
    this.groups.delete(group.groupId);
    const stored = this.stored.snapshot(group.groupId) || this.stored.offsets(group.groupId);
    return stored ? { kind: "group-removed", groupId: group.groupId } : null;
  }

  /** Kafka's cleanup: an empty group with no offsets left goes, with its snapshot. */
  removeIfEmptyWithoutOffsets(group: Group, now: number): GroupRecord | null {
    if (group.state !== "Empty" || group.pendingMembers.size > 0 || !this.isCurrent(group)) return null;
    if (this.stored.offsets(group.groupId)) return null;
    return this.remove(group, now);
  }

  /** A group created for a request that then failed leaves no trace. */
  dropIfUnused(group: Group): void {
    if (group.state !== "Empty" || group.size > 0 || group.pendingMembers.size > 0) return;
    if (this.stored.offsets(group.groupId) || this.stored.snapshot(group.groupId)) return;
    if (this.isCurrent(group)) this.groups.delete(group.groupId);
  }
}
