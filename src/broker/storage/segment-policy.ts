import type { RetentionLimits, StorageOptions } from "./storage.js";

/**
 * When segments roll and when they go: the rules both engines share, so that rolling,
 * retention and DeleteRecords mean the same thing in memory and on disk.
 */

/** What the rules need to know about a segment. */
export interface SegmentSummary {
  readonly baseOffset: number;
  /** One past the last offset in the segment (= baseOffset while it is empty). */
  readonly nextOffset: number;
  readonly sizeBytes: number;
  /** Largest batch max timestamp in the segment, −1 if none carried one. */
  readonly maxTimestamp: number;
  /** Last offset of the first batch that reached `maxTimestamp`, −1 with it. */
  readonly offsetOfMaxTimestamp: number;
  /** When data was last appended, for retention of segments without timestamps (Kafka uses the file's mtime). */
  readonly lastModified: number;
  /** When the segment received its first batch: segment.ms counts from here. */
  readonly rollBaseTime: number;
}

export interface SegmentConfig {
  segmentBytes: number;
  segmentMs: number;
}

/** Index entries hold offsets relative to the segment's base offset in 32 bits. */
export const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;
const DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;
const DEFAULT_SEGMENT_MS = 7 * 24 * 60 * 60 * 1000;
/** Kafka's bounds for segment.bytes; the upper one keeps file positions in 32-bit index entries. */
const MIN_SEGMENT_BYTES = 14;
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

export function defaultSegmentConfig(options: StorageOptions): SegmentConfig {
  return {
    segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    segmentMs: options.segmentMs ?? DEFAULT_SEGMENT_MS,
  };
}

/**
 * The topic's segment.bytes / segment.ms overrides over the broker defaults. The config
 * handlers reject invalid values before they are stored; one that slips through anyway
 * falls back to the default rather than breaking appends.
 */
export function segmentConfigFor(configs: Record<string, string>, defaults: SegmentConfig): SegmentConfig {
  return {
    segmentBytes: intSetting(configs["segment.bytes"], MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES) ?? defaults.segmentBytes,
    segmentMs: intSetting(configs["segment.ms"], 1, Number.MAX_SAFE_INTEGER) ?? defaults.segmentMs,
  };
}

function intSetting(value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const parsed = Number(value);
  return parsed >= min && parsed <= max ? parsed : undefined;
}

/**
 * Whether an append of `sizeBytes` ending at `lastOffset` must go to a new segment. An empty
 * segment takes any append, even one larger than segment.bytes, so a huge batch cannot roll forever.
 */
export function shouldRoll(
  active: Pick<SegmentSummary, "baseOffset" | "sizeBytes" | "rollBaseTime">,
  append: { sizeBytes: number; lastOffset: number },
  now: number,
  config: SegmentConfig,
): boolean {
  if (active.sizeBytes === 0) return false;
  return (
    active.sizeBytes + append.sizeBytes > config.segmentBytes ||
    now - active.rollBaseTime >= config.segmentMs ||
    append.lastOffset - active.baseOffset > MAX_RELATIVE_OFFSET
  );
}

/**
 * How many of the oldest segments retention deletes: a prefix, because the log start offset
 * only moves forward. The active segment always stays, and so does any segment holding data
 * above the high watermark (not yet durable, so not yet the consumers' to lose).
 */
export function segmentsPastRetention(
  segments: readonly SegmentSummary[],
  now: number,
  limits: RetentionLimits,
  highWatermark: number,
): number {
  let excessBytes = limits.retentionBytes < 0 ? 0 : totalBytes(segments) - limits.retentionBytes;
  let count = 0;
  for (const segment of segments.slice(0, -1)) {
    if (segment.nextOffset > highWatermark) break;
    const newest = segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.lastModified;
    const expired = limits.retentionMs >= 0 && now - newest > limits.retentionMs;
    const oversize = limits.retentionBytes >= 0 && excessBytes >= segment.sizeBytes;
    if (!expired && !oversize) break;
    excessBytes -= segment.sizeBytes;
    count++;
  }
  return count;
}

/** How many of the oldest segments lie entirely below `offset`; the active segment is never counted. */
export function segmentsBelow(segments: readonly SegmentSummary[], offset: number): number {
  let count = 0;
  while (count < segments.length - 1 && segments[count]!.nextOffset <= offset) count++;
  return count;
}

/** Position in `segments` of the segment that holds `offset`: the last one starting at or before it. */
export function segmentIndexFor(segments: readonly SegmentSummary[], offset: number): number {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (segments[middle]!.baseOffset <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}

export function totalBytes(segments: readonly SegmentSummary[]): number {
  return segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
}

/** The first segment reaching the largest max timestamp gives the answer; see PartitionLog.maxTimestampEntry. */
export function maxTimestampEntry(
  segments: readonly SegmentSummary[],
): { offset: number; timestamp: number } | undefined {
  let best: SegmentSummary | undefined;
  for (const segment of segments) {
    if (segment.maxTimestamp >= 0 && (!best || segment.maxTimestamp > best.maxTimestamp)) best = segment;
  }
  return best && { offset: best.offsetOfMaxTimestamp, timestamp: best.maxTimestamp };
}
