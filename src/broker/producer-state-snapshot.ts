import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import type { ProducerSnapshot, ProducerStateManager } from "./producer-state.js";
import { syncDirectory } from "./storage/random-access-file.js";
import { frameStateFile, unframeStateFile, writeFileAtomically } from "./storage/state-file.js";

/**
 * The idempotent producers' state, written at a clean shutdown as Kafka writes its producer
 * snapshots, so that the next start need not rebuild it from the batch headers of every active
 * segment: with small batches that walk costs some 80 ms per 100,000 of them.
 *
 * It is trusted only when the storage, too, opened after a clean shutdown (the snapshot is
 * written just before the storage's own marker), and it is removed at every start before the
 * broker takes a write, so it never outlives the logs it describes.
 */
const SNAPSHOT_FILE = "producer-state.snapshot";
const KIND = "PROD";
const VERSION = 1;

export async function writeProducerSnapshot(dataDir: string, producers: ProducerStateManager): Promise<void> {
  const payload = Buffer.from(JSON.stringify(await producers.snapshot()));
  await writeFileAtomically(join(dataDir, SNAPSHOT_FILE), frameStateFile(KIND, VERSION, payload));
}

/** Reads and removes the snapshot: undefined when there is none, or none that can be used (logged). */
export async function takeProducerSnapshot(dataDir: string, logger: Logger): Promise<ProducerSnapshot[] | undefined> {
  const path = join(dataDir, SNAPSHOT_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  await rm(path);
  await syncDirectory(dataDir);
  try {
    const { version, payload } = unframeStateFile(bytes, KIND, path);
    if (version !== VERSION) throw new Error(`${path} has format version ${version}, not ${VERSION}`);
    return JSON.parse(payload.toString("utf8")) as ProducerSnapshot[];
  } catch (error) {
    logger.warn({ err: error, path }, "producer state snapshot unusable; restoring from the logs");
    return undefined;
  }
}
