import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { frameStateFile, unframeStateFile, writeFileAtomically } from "./state-file.js";
import type { TopicMetadata } from "./storage.js";
import { StorageError, type StorageErrorCode } from "./storage-error.js";

/**
 * The file engine's topic metadata: one state file, `topics.meta` in the data directory, holding
 * every topic as JSON (version 1), rewritten whole on each change — topics change rarely, and a
 * whole-file atomic replace leaves no partial state to repair.
 */
export const TOPICS_FILE = "topics.meta";
const KIND = "TOPC";
const VERSION = 1;

/** Kafka's legal topic names; they also keep partition directory names inside the data directory. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeTopics(topics: readonly TopicMetadata[]): Buffer {
  const entries = topics.map(({ name, topicId, partitionCount, configs }) => ({
    name,
    topicId,
    partitionCount,
    configs,
  }));
  return frameStateFile(KIND, VERSION, Buffer.from(JSON.stringify({ topics: entries }), "utf8"));
}

/** Decodes a topics file, rejecting anything but a well-formed one; `source` names it in errors. */
export function decodeTopics(bytes: Buffer, source: string): TopicMetadata[] {
  const { version, payload } = unframeStateFile(bytes, KIND, source);
  const corrupt = (why: string) => new StorageError("KAFKA_STORAGE_ERROR", `${source} is corrupt: ${why}`);
  if (version !== VERSION) throw corrupt(`unsupported version ${version}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch (error) {
    throw corrupt(`its payload is not JSON (${(error as Error).message})`);
  }
  const entries = (parsed as { topics?: unknown } | null)?.topics;
  if (!Array.isArray(entries)) throw corrupt("it holds no topic list");
  const names = new Set<string>();
  return entries.map((entry: unknown, i) => {
    const problem = problemWithTopic(entry);
    if (problem) throw corrupt(`topic ${i}: ${problem.message}`);
    const topic = entry as TopicMetadata;
    if (names.has(topic.name)) throw corrupt(`topic ${topic.name} appears twice`);
    names.add(topic.name);
    return {
      name: topic.name,
      topicId: topic.topicId,
      partitionCount: topic.partitionCount,
      configs: { ...topic.configs },
    };
  });
}

export async function readTopicsFile(dataDirectory: string): Promise<TopicMetadata[]> {
  const path = join(dataDirectory, TOPICS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return decodeTopics(bytes, path);
}

export function writeTopicsFile(dataDirectory: string, topics: readonly TopicMetadata[]): Promise<void> {
  return writeFileAtomically(join(dataDirectory, TOPICS_FILE), encodeTopics(topics));
}

/** Rejects metadata a storage engine must not accept: bad names, counts, ids or configs. */
export function checkTopic(topic: TopicMetadata): void {
  const problem = problemWithTopic(topic);
  if (problem) throw new StorageError(problem.code, problem.message);
}

function problemWithTopic(entry: unknown): { code: StorageErrorCode; message: string } | undefined {
  const invalid = (message: string) => ({ code: "INVALID_TOPIC_EXCEPTION" as const, message });
  if (typeof entry !== "object" || entry === null) return invalid("not an object");
  const { name, topicId, partitionCount, configs } = entry as Record<string, unknown>;
  if (typeof name !== "string" || !TOPIC_NAME.test(name) || name === "." || name === "..") {
    return invalid(`invalid topic name ${JSON.stringify(name)}`);
  }
  if (typeof topicId !== "string" || !UUID.test(topicId)) return invalid(`invalid topic id ${JSON.stringify(topicId)}`);
  if (!Number.isSafeInteger(partitionCount) || (partitionCount as number) < 1) {
    return { code: "INVALID_PARTITIONS", message: `invalid partition count ${JSON.stringify(partitionCount)}` };
  }
  if (typeof configs !== "object" || configs === null || Array.isArray(configs)) {
    return invalid("configs is not an object");
  }
  for (const [key, value] of Object.entries(configs)) {
    if (typeof value !== "string") return invalid(`config ${key} is not a string`);
  }
  return undefined;
}
