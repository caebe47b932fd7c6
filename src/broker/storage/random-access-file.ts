import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * The file operations the segment engine uses: positional reads and writes, truncation,
 * fdatasync. A seam so that tests can inject disk failures (ENOSPC, failed fsync) that a
 * real file system will not produce on demand.
 */
export interface RandomAccessFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  truncate(length: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a file for reading and writing, creating it if missing (never truncating it). */
export type OpenFile = (path: string) => Promise<RandomAccessFile>;

export const openRandomAccessFile: OpenFile = async (path) => {
  // Not "a+": with O_APPEND, Linux ignores the position of positional writes.
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT);
  return {
    read: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead,
    write: async (buffer, offset, length, position) =>
      (await handle.write(buffer, offset, length, position)).bytesWritten,
    truncate: (length) => handle.truncate(length),
    datasync: () => handle.datasync(),
    close: () => handle.close(),
  };
};

/** Writes all of `bytes` at `position`, continuing after short writes. */
export async function writeFully(file: RandomAccessFile, bytes: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes, written, bytes.length - written, position + written);
  }
}

/** Reads `length` bytes at `position`, or fewer if the file ends first. */
export async function readFully(file: RandomAccessFile, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const read = await file.read(buffer, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}
