import { type JoinResult, NO_BYTES, type SyncResult } from "./results.js";

/** A protocol a member can use (an assignor such as "range"), with its metadata for it. */
export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** One member of a classic group, as the coordinator tracks it between requests. */
export class GroupMember {
  /** What the leader assigned to this member in the current generation. */
  assignment: Buffer = NO_BYTES;
  /** Answers the member's parked JoinGroup; set while it waits for the round to complete. */
  awaitingJoin: ((result: JoinResult) => void) | null = null;
  /** Answers the member's parked SyncGroup; set while it waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | null = null;
  /** Fires when the member has not been heard from for its session timeout. */
  sessionTimer: NodeJS.Timeout | null = null;
  /** The timeout `sessionTimer` was armed with, to tell when it must be replaced. */
  sessionTimerMs = 0;

  constructor(
    /** Changes only when a static member comes back under a new id. */
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    /** In the member's order of preference. */
    public protocols: readonly MemberProtocol[],
  ) {}

  cancelSession(): void {
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  metadataFor(protocolName: string): Buffer {
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? NO_BYTES;
  }

  /** Whether a rejoin carries exactly the protocols and metadata the member has now. */
  matches(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const own = this.protocols[i] as MemberProtocol;
      return p.name === own.name && p.metadata.equals(own.metadata);
    });
  }

  /** The member's most preferred protocol among those every member supports. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }
}
