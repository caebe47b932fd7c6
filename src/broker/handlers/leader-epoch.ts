import { ErrorCode } from "../../protocol/errors.js";

/** The only leader epoch of every partition: a single broker never changes leader. */
export const LEADER_EPOCH = 0;

/**
 * Checks the leader epoch a client believes current (−1 = not checked): older than ours is
 * fenced, newer is unknown — Kafka's answers, which make clients refresh their metadata.
 */
export function checkLeaderEpoch(currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === LEADER_EPOCH) return ErrorCode.NONE;
  return currentLeaderEpoch < LEADER_EPOCH ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
}
