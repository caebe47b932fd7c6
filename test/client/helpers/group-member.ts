// A consumer-group member made of raw JoinGroup/SyncGroup requests sent through the client's
// Cluster, for Admin tests that need a group with members before the Consumer exists.
import type { Cluster } from "../../../src/client/cluster.js";
import { BrookError } from "../../../src/client/errors.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import { encodeConsumerProtocolAssignment } from "../../../src/protocol/generated/consumer-protocol-assignment.js";
import { encodeConsumerProtocolSubscription } from "../../../src/protocol/generated/consumer-protocol-subscription.js";
import { Writer } from "../../../src/protocol/writer.js";

function versioned(encode: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encode(w);
  return w.toBuffer();
}

export interface Member {
  memberId: string;
  generationId: number;
  leave(): Promise<void>;
}

/** Joins `groupId` alone, as a consumer subscribed to `topic`, and takes `partitions` of it. */
export async function joinAsOnlyMember(
  cluster: Cluster,
  groupId: string,
  topic: string,
  partitions: number[],
): Promise<Member> {
  const metadata = versioned((w) => encodeConsumerProtocolSubscription(w, 0, { topics: [topic], userData: null }));
  let memberId = "";
  for (;;) {
    const joined = await cluster.coordinatorRequest(groupId, "JoinGroup", () => ({
      groupId,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata }],
    }));
    if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      memberId = joined.memberId;
      continue;
    }
    if (joined.errorCode !== ErrorCode.NONE) throw BrookError.fromKafkaCode(joined.errorCode, "JoinGroup");
    memberId = joined.memberId;
    const assignment = versioned((w) =>
      encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic, partitions }], userData: null }),
    );
    const synced = await cluster.coordinatorRequest(groupId, "SyncGroup", () => ({
      groupId,
      generationId: joined.generationId,
      memberId,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [{ memberId, assignment }],
    }));
    if (synced.errorCode !== ErrorCode.NONE) throw BrookError.fromKafkaCode(synced.errorCode, "SyncGroup");
    const generationId = joined.generationId;
    return {
      memberId,
      generationId,
      async leave() {
        await cluster.coordinatorRequest(groupId, "LeaveGroup", () => ({
          groupId,
          memberId,
          members: [{ memberId, groupInstanceId: null }],
        }));
      },
    };
  }
}
