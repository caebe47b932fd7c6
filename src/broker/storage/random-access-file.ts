import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * The file operations the segment engine uses: positional reads and writes, truncation,
 * fdatasync. A seam so that tests can inject disk failures (ENOSPC, failed fsync) that a
 * real file system will not produce on demand.
 */
export interface RandomAccessFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** One positional gathering write (pwritev) of `buffers`; returns the bytes written, maybe fewer than all. */
  write(buffers: readonly Buffer[], position: number): Promise<number>;
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
    write: async (buffers, position) => (await handle.writev(buffers as Buffer[], position)).bytesWritten,
    truncate: (length) => handle.truncate(length),
    datasync: () => handle.datasync(),
    close: () => handle.close(),
  };
};

/** fsync of a directory, which makes the entries created, renamed or removed in it durable. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The most buffers passed to one write: Linux's IOV_MAX. */
const MAX_BUFFERS_PER_WRITE = 1024;

/** Writes all of `buffers`, back to back, at `position`, continuing after short writes. */
export async function writeFully(file: RandomAccessFile, buffers: readonly Buffer[], position: number): Promise<void> {
  const pending = buffers.filter((buffer) => buffer.length > 0);
  let next = 0;
  while (next < pending.length) {
    let written = await file.write(pending.slice(next, next + MAX_BUFFERS_PER_WRITE), position);
    if (written <= 0) throw new Error("a write made no progress");
    position += written;
    while (next < pending.length && written >= pending[next]!.length) {
      written -= pending[next]!.length;
      next++;
    }
    if (written > 0) pending[next] = pending[next]!.subarray(written);
  }
}

/** Reads `length` bytes at `position`, or fewer if the file ends first. */
export async function readFully(
  file: RandomAccessFile,
  length: number,
  position: number,
  allocate: (length: number) => Buffer = Buffer.allocUnsafe,
): Promise<Buffer> {
  const buffer = allocate(length);
  const filled = await readInto(file, buffer, length, position);
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Reads `length` bytes at `position` into the start of `buffer`; returns how many, fewer if the file ends first. */
export async function readInto(
  file: RandomAccessFile,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const read = await file.read(buffer, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}
