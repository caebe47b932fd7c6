// The log lines the shipper publishes and the monitor reads.
import { Admin, BrookError } from "brook";

export const LOGS_TOPIC = "logs";
export const LEVELS = ["info", "warn", "error"] as const;
export type Level = (typeof LEVELS)[number];

export interface LogLine {
  level: Level;
  service: string;
  message: string;
}

/** Creates `logs` with 3 partitions unless it exists; lines are keyed by service, so each service's lines stay in order. */
export async function createLogsTopic(brokers: string): Promise<void> {
  const admin = new Admin({ brokers });
  try {
    await admin.createTopics({ topics: [{ topic: LOGS_TOPIC, numPartitions: 3 }] });
  } catch (error) {
    if (!(error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
  } finally {
    await admin.close();
  }
}

/** Counts of lines per service and level, printed the same way by the shipper and the monitor. */
export type LevelCounts = Map<string, Record<Level, number>>;

export function countLine(counts: LevelCounts, { service, level }: LogLine): void {
  let perLevel = counts.get(service);
  if (!perLevel) counts.set(service, (perLevel = { info: 0, warn: 0, error: 0 }));
  perLevel[level]++;
}

export function formatCounts(counts: LevelCounts): string {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, n]) => `${service} info=${n.info} warn=${n.warn} error=${n.error}`)
    .join(" | ");
}
