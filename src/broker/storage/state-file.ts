import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { crc32c } from "@node-rs/crc32";
import { syncDirectory } from "./random-access-file.js";
import { StorageError } from "./storage-error.js";

/**
 * Small state files that are not record batches (topic metadata, log start offsets) share one
 * frame, so that a reader can tell a torn or foreign file from a good one and say which:
 *
 *   0   4  kind: four ASCII letters naming what the file holds ("TOPC")
 *   4   2  version of the payload format
 *   6   4  payload length
 *   10  4  CRC-32C of bytes 0..9 and of the payload
 *   14  …  payload
 *
 * They are replaced atomically: written to a temporary file, synced, renamed over the old one,
 * and the directory synced, so a crash leaves either the old or the new state, never a mix.
 */
const HEADER_SIZE = 14;

export function frameStateFile(kind: string, version: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.write(kind, 0, 4, "latin1");
  header.writeUInt16BE(version, 4);
  header.writeUInt32BE(payload.length, 6);
  header.writeUInt32BE(crc32c(payload, crc32c(header.subarray(0, 10))), 10);
  return Buffer.concat([header, payload]);
}

/** Checks the frame of a state file and returns its payload; `source` names the file in errors. */
export function unframeStateFile(bytes: Buffer, kind: string, source: string): { version: number; payload: Buffer } {
  const corrupt = (why: string) => new StorageError("KAFKA_STORAGE_ERROR", `${source} is corrupt: ${why}`);
  if (bytes.length < HEADER_SIZE) throw corrupt(`${bytes.length} bytes is shorter than its header`);
  const foundKind = bytes.toString("latin1", 0, 4);
  if (foundKind !== kind) throw corrupt(`it starts with ${JSON.stringify(foundKind)}, not ${JSON.stringify(kind)}`);
  const length = bytes.readUInt32BE(6);
  if (bytes.length !== HEADER_SIZE + length) {
    throw corrupt(`its header announces ${length} bytes of payload but ${bytes.length - HEADER_SIZE} follow`);
  }
  const payload = bytes.subarray(HEADER_SIZE);
  const stored = bytes.readUInt32BE(10);
  const computed = crc32c(payload, crc32c(bytes.subarray(0, 10)));
  if (stored !== computed) throw corrupt(`CRC-32C mismatch (stored ${hex(stored)}, computed ${hex(computed)})`);
  return { version: bytes.readUInt16BE(4), payload };
}

/** Replaces the file at `path` with `bytes`, atomically and durably. */
export async function writeFileAtomically(path: string, bytes: Buffer): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, "w");
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
