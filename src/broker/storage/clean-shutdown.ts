import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory } from "./random-access-file.js";
import { writeFileAtomically } from "./state-file.js";

/**
 * The clean-shutdown marker (Kafka's `.kafka_cleanshutdown`): an empty file in the data
 * directory, written only after a close that synced and closed every segment without error.
 * Its presence lets the next start trust each active segment as it is instead of checking it
 * batch by batch. It is removed, durably, before the storage takes any write, so a crash in the
 * run that follows always leads to a full recovery.
 */
export const CLEAN_SHUTDOWN_MARKER = ".brook-clean-shutdown";

/** Whether the last run closed the data directory cleanly; consumes the marker if so. */
export async function takeCleanShutdownMarker(dataDir: string): Promise<boolean> {
  const path = join(dataDir, CLEAN_SHUTDOWN_MARKER);
  if (!existsSync(path)) return false;
  await rm(path);
  await syncDirectory(dataDir);
  return true;
}

/** Records that every file of the data directory is synced and closed. */
export function writeCleanShutdownMarker(dataDir: string): Promise<void> {
  return writeFileAtomically(join(dataDir, CLEAN_SHUTDOWN_MARKER), Buffer.alloc(0));
}
