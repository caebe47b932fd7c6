import { join } from "node:path";

/**
 * A segment is three files named by its base offset, zero-padded to 20 digits as in Kafka,
 * so that a directory listing sorts them in offset order:
 *   00000000000000001234.log        the record batches, exactly as produced (offsets patched)
 *   00000000000000001234.index      offset index
 *   00000000000000001234.timeindex  time index
 */
export interface SegmentFiles {
  log: string;
  index: string;
  timeIndex: string;
}

const LOG_FILE = /^(\d{20})\.log$/;

export function segmentFiles(directory: string, baseOffset: number): SegmentFiles {
  const stem = join(directory, String(baseOffset).padStart(20, "0"));
  return { log: `${stem}.log`, index: `${stem}.index`, timeIndex: `${stem}.timeindex` };
}

/** The base offset a segment log file is named by, or undefined for any other file. */
export function baseOffsetOfLogFile(fileName: string): number | undefined {
  const match = LOG_FILE.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

/** The base offset an index file belongs to, or undefined for any other file. */
export function baseOffsetOfIndexFile(fileName: string): number | undefined {
  const match = /^(\d{20})\.(index|timeindex)$/.exec(fileName);
  return match ? Number(match[1]) : undefined;
}
