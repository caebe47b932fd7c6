import type { Cluster } from "../cluster.js";
import { BrookError } from "../errors.js";
import { fetchCommittedOffsets } from "../group-offsets.js";
import { listOffsets, type OffsetSpec } from "../offsets.js";
import { type PartitionState, type PositionSource, partitionKey } from "./partition-state.js";

export interface PositionFinderHost {
  assignedPartitions(): Iterable<PartitionState>;
  /** Partitions got positions: time to fetch. */
  onPositions(): void;
  report(error: BrookError): void;
}

export interface PositionFinderOptions {
  groupId: string | undefined;
  resetPolicy: Exclude<PositionSource, "committed">;
  isolationLevel: 0 | 1;
  /** Wait before looking again after a lookup failed for good. */
  retryDelayMs: number;
}

/**
 * Finds the positions of partitions that have none: the group's committed offset first
 * (OffsetFetch), else the reset policy (ListOffsets: earliest, latest or by time). Lookups
 * for many partitions go out together; a partition whose position was set meanwhile (a seek)
 * or that was revoked keeps what it has.
 */
export class PositionFinder {
  private running = false;
  private runAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: PositionFinderOptions,
    private readonly host: PositionFinderHost,
  ) {}

  /** Looks up the positions missing now (again, after the lookup under way). */
  findMissing(): void {
    if (this.closed) return;
    if (this.running) {
      this.runAgain = true;
      return;
    }
    this.running = true;
    this.run()
      .catch((error) => this.host.report(error as BrookError))
      .finally(() => {
        this.running = false;
      });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private async run(): Promise<void> {
    do {
      this.runAgain = false;
      const missing = [...this.host.assignedPartitions()].filter(
        (state) => state.position < 0 && state.positionSource !== undefined && state.positionSource !== "none",
      );
      if (missing.length === 0) return;
      try {
        await this.fromCommitted(missing.filter((state) => state.positionSource === "committed"));
        await this.fromPolicy(missing.filter((state) => state.position < 0 && isResetQuery(state.positionSource)));
      } catch (error) {
        if (this.closed) return;
        this.host.report(error as BrookError);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.findMissing(), this.options.retryDelayMs);
      }
      this.host.onPositions();
    } while (this.runAgain && !this.closed);
  }

  private async fromCommitted(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    const { groupId, resetPolicy } = this.options;
    const epochs = states.map((state) => state.epoch);
    const committed = new Map<string, number>();
    if (groupId !== undefined) {
      // requireStable: offsets a transaction is still committing are waited for.
      const found = await fetchCommittedOffsets(this.cluster, groupId, states, { requireStable: true });
      for (const { topic, partition, offset } of found) committed.set(partitionKey(topic, partition), offset);
    }
    states.forEach((state, i) => {
      if (!state.assigned || state.epoch !== epochs[i] || state.positionSource !== "committed") return;
      const offset = committed.get(state.key) ?? -1;
      if (offset >= 0) {
        state.setPosition(offset);
        state.committed = offset;
        state.processed = offset;
      } else {
        state.resetPosition(resetPolicy);
        if (resetPolicy === "none") {
          this.host.report(
            new BrookError(
              "BROOK_NO_OFFSET",
              `${state.topic}-${state.partition} has no committed offset and autoOffsetReset is "none": seek() to choose where to start`,
              { topic: state.topic, partition: state.partition },
            ),
          );
        }
      }
    });
  }

  private async fromPolicy(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    const epochs = states.map((state) => state.epoch);
    const { isolationLevel } = this.options;
    const queries = states.map(({ topic, partition, positionSource }) => ({
      topic,
      partition,
      spec: positionSource as OffsetSpec,
    }));
    const offsets = new Map<string, number>();
    for (const { topic, partition, offset } of await listOffsets(this.cluster, queries, { isolationLevel })) {
      offsets.set(partitionKey(topic, partition), offset);
    }
    // A time after the last message finds nothing: start at the end, as Kafka's consumers do.
    const pastTheEnd = queries.filter((query) => (offsets.get(partitionKey(query.topic, query.partition)) ?? -1) < 0);
    if (pastTheEnd.length > 0) {
      const latest = pastTheEnd.map((query) => ({ ...query, spec: "latest" as const }));
      for (const { topic, partition, offset } of await listOffsets(this.cluster, latest, { isolationLevel })) {
        offsets.set(partitionKey(topic, partition), offset);
      }
    }
    states.forEach((state, i) => {
      if (!state.assigned || state.epoch !== epochs[i] || state.position >= 0) return;
      const offset = offsets.get(state.key);
      if (offset !== undefined && offset >= 0) state.setPosition(offset);
    });
  }
}

/** A position source that a ListOffsets lookup answers. */
function isResetQuery(source: PositionSource | undefined): boolean {
  return source !== undefined && source !== "committed" && source !== "none";
}
