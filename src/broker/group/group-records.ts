/**
 * What the group coordinator keeps on disk: committed offsets and a snapshot of each group's
 * membership, written as a sequence of records. A later record for the same key replaces an
 * earlier one, so the latest record per key is the whole state (see StoredGroups).
 */

/** An offset a group committed for one partition. */
export interface CommittedOffset {
  readonly offset: number;
  /** The leader epoch the consumer saw with this offset; -1 when it did not say. */
  readonly leaderEpoch: number;
  /** Free text the consumer attached to the commit; "" when it sent none. */
  readonly metadata: string;
  readonly commitTimestamp: number;
  /**
   * An absolute expiry time from the retention_time_ms of OffsetCommit v2–4, or -1 for the
   * current rule: the offset expires offsets.retention.ms after its group became empty.
   */
  readonly expireTimestamp: number;
}

/** A member as the group's snapshot remembers it; enough to take it back after a restart. */
export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** The member's metadata for the group's chosen protocol (its consumer subscription). */
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

/** A group's membership at the end of a rebalance, or when it became empty. */
export interface StoredGroup {
  readonly protocolType: string | null;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  /** When the group entered its current state; an empty group's offsets expire from here. */
  readonly stateTimestamp: number;
  readonly members: readonly StoredMember[];
}

export type GroupRecord =
  | {
      readonly kind: "offset";
      readonly groupId: string;
      readonly topic: string;
      readonly partition: number;
      readonly committed: CommittedOffset;
    }
  | { readonly kind: "offset-removed"; readonly groupId: string; readonly topic: string; readonly partition: number }
  | { readonly kind: "group"; readonly groupId: string; readonly group: StoredGroup }
  /** Removes the group's snapshot and every offset it committed. */
  | { readonly kind: "group-removed"; readonly groupId: string };
