import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { readInt64At, writeInt64At } from "../../protocol/records/batch-header.js";
import { frameStateFile, unframeStateFile, writeFileAtomically } from "./state-file.js";

/**
 * A partition's log start offset, which DeleteRecords can move inside a segment, so the
 * segment files alone do not tell it. One state file per partition directory.
 */
const FILE = "log-start-offset";
const KIND = "LSTO";
const VERSION = 1;

export function writeLogStartCheckpoint(directory: string, logStartOffset: number): Promise<void> {
  const payload = Buffer.alloc(8);
  writeInt64At(payload, 0, logStartOffset);
  return writeFileAtomically(join(directory, FILE), frameStateFile(KIND, VERSION, payload));
}

/**
 * The checkpointed log start offset, if any. A damaged checkpoint is reported and ignored: the
 * log then starts at its first segment, which at worst shows consumers records they had deleted
 * — better than refusing to start the partition.
 */
export function readLogStartCheckpoint(directory: string, logger: Logger): number | undefined {
  const path = join(directory, FILE);
  try {
    const { version, payload } = unframeStateFile(readFileSync(path), KIND, path);
    if (version !== VERSION || payload.length !== 8) throw new Error(`${path} has an unknown layout`);
    return readInt64At(payload, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      logger.warn({ err: error, checkpoint: path }, "ignoring a damaged log start offset checkpoint");
    }
    return undefined;
  }
}
