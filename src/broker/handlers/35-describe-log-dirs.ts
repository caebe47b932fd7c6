import { statfsSync } from "node:fs";
import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** What an in-memory broker names its one "log directory". */
const MEMORY_LOG_DIR = "(memory)";

/**
 * DescribeLogDirs: the size of every partition (tools show it beside the offsets), all in the
 * broker's one log directory. Topics the request names that do not exist are left out, as in
 * Kafka; `topics: null` asks for all of them.
 */
export default defineHandler(API_CODECS.DescribeLogDirs, (request, ctx) => {
  const wanted = request.topics && new Map(request.topics.map((t) => [t.topic, new Set(t.partitions)]));
  const topics = ctx.broker.topics
    .all()
    .filter((topic) => wanted === null || wanted.has(topic.name))
    .map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.flatMap((log, partitionIndex) =>
        wanted === null || wanted.get(topic.name)?.has(partitionIndex)
          ? [{ partitionIndex, partitionSize: log.sizeBytes, offsetLag: 0, isFutureKey: false }]
          : [],
      ),
    }));
  const { logDir } = ctx.broker.config;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{ errorCode: ErrorCode.NONE, logDir: logDir ?? MEMORY_LOG_DIR, topics, ...volumeOf(logDir) }],
  };
});

/** The size and free space of the volume holding the log directory (v4), -1 when unknown. */
function volumeOf(logDir: string | null): { totalBytes: number; usableBytes: number } {
  if (logDir === null) return { totalBytes: -1, usableBytes: -1 };
  try {
    const stats = statfsSync(logDir);
    return { totalBytes: stats.blocks * stats.bsize, usableBytes: stats.bavail * stats.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}
