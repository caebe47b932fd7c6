import { type Assignor, type AssignorName, BUILTIN_ASSIGNORS } from "../assignors/index.js";
import { invalidOption } from "../errors.js";
import { type ClientOptions, checkPositiveInteger } from "../options.js";
import { type Deserializer, type DeserializerName, deserializers } from "./deserializers.js";

/**
 * Where a partition starts when the group has no committed offset for it, and where it
 * continues when its position is out of the log's range: the first offset, the end, the first
 * message at or after a time, or nowhere ("none": the consumer fails with BROOK_NO_OFFSET or
 * OFFSET_OUT_OF_RANGE instead).
 */
export type OffsetResetPolicy = "earliest" | "latest" | "none" | { timestamp: number | Date };

export interface ConsumerOptions<Value = Buffer | null, Key = Buffer | null> extends ClientOptions {
  /** The consumer group: needed by subscribe() and by commits. */
  groupId?: string;
  /** Static membership (KIP-345): a restart with the same id within the session timeout takes the member's place without a rebalance. */
  groupInstanceId?: string;
  /** The coordinator drops a member it has not heard from for this long; default 45 s (brokers accept 6 s to 30 min by default). */
  sessionTimeoutMs?: number;
  /** How often the member heartbeats, independently of the application; default 3 s, less than sessionTimeoutMs. */
  heartbeatIntervalMs?: number;
  /**
   * Longest time the application may hold what it was given (between two pulls of the
   * iterator or poll()) before the member leaves the group so others take its partitions;
   * it rejoins on the next pull. Default 5 min.
   */
  maxPollIntervalMs?: number;
  /** How long the coordinator waits for members to rejoin in a rebalance; default maxPollIntervalMs. */
  rebalanceTimeoutMs?: number;
  /** Assignment strategies, preferred first: built-in names or your own. Default ["cooperative-sticky"]. */
  assignors?: readonly (AssignorName | Assignor)[];
  /** Commit the offsets of processed messages every autoCommitIntervalMs, before a rebalance and on close. Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Default "latest", as Kafka's consumers. */
  autoOffsetReset?: OffsetResetPolicy;
  /** Default "read_committed": messages of aborted transactions are never delivered. */
  isolationLevel?: "read_committed" | "read_uncommitted";
  /** How long a broker may hold a Fetch waiting for fetchMinBytes; default 500 ms. */
  fetchMaxWaitMs?: number;
  /** Default 1: a Fetch returns as soon as there is anything. */
  fetchMinBytes?: number;
  /** Most bytes of one Fetch response (a broker still returns one whole batch larger than this); default 50 MiB. */
  fetchMaxBytes?: number;
  /** Most bytes per partition in a Fetch response; default 1 MiB. */
  partitionMaxBytes?: number;
  /** Ask brokers to create subscribed or assigned topics that do not exist; default false. */
  allowAutoTopicCreation?: boolean;
  /** A built-in name or a function; default "buffer" (the bytes as they arrived). */
  keyDeserializer?: DeserializerName | Deserializer<Key>;
  valueDeserializer?: DeserializerName | Deserializer<Value>;
}

export interface ResolvedConsumerOptions<Value, Key> {
  groupId: string | undefined;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxPollIntervalMs: number;
  rebalanceTimeoutMs: number;
  assignors: readonly Assignor[];
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  autoOffsetReset: "earliest" | "latest" | "none" | { timestamp: number };
  /** 1 for read_committed, 0 for read_uncommitted, as on the wire. */
  isolationLevel: 0 | 1;
  fetchMaxWaitMs: number;
  fetchMinBytes: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  allowAutoTopicCreation: boolean;
  keyDeserializer: Deserializer<Key>;
  valueDeserializer: Deserializer<Value>;
}

export const MAX_INT32 = 2 ** 31 - 1;

function resolveDeserializer<T>(name: string, option: DeserializerName | Deserializer<T> | undefined): Deserializer<T> {
  if (option === undefined) return deserializers.buffer as Deserializer<T>;
  if (typeof option === "function") return option;
  if (typeof option === "string" && Object.hasOwn(deserializers, option))
    return deserializers[option] as Deserializer<T>;
  throw invalidOption(`${name} must be a function or one of ${Object.keys(deserializers).join(", ")}`);
}

function resolveAssignors(option: ConsumerOptions["assignors"]): Assignor[] {
  if (option === undefined) return [BUILTIN_ASSIGNORS["cooperative-sticky"]];
  if (!Array.isArray(option) || option.length === 0) {
    throw invalidOption("assignors must be a non-empty array of assignor names or objects");
  }
  const assignors = option.map((entry: AssignorName | Assignor) => {
    if (typeof entry === "string") {
      if (!Object.hasOwn(BUILTIN_ASSIGNORS, entry)) {
        throw invalidOption(
          `unknown assignor ${JSON.stringify(entry)}: the built-in ones are ${Object.keys(BUILTIN_ASSIGNORS).join(", ")}`,
        );
      }
      return BUILTIN_ASSIGNORS[entry];
    }
    if (
      typeof entry !== "object" ||
      entry === null ||
      typeof entry.name !== "string" ||
      entry.name === "" ||
      typeof entry.assign !== "function" ||
      (entry.rebalanceProtocol !== "eager" && entry.rebalanceProtocol !== "cooperative")
    ) {
      throw invalidOption(
        'an assignor must be a built-in name or { name, rebalanceProtocol: "eager" | "cooperative", assign }',
      );
    }
    return entry;
  });
  const names = assignors.map((assignor) => assignor.name);
  if (new Set(names).size !== names.length)
    throw invalidOption(`assignors must have distinct names, not ${names.join(", ")}`);
  return assignors;
}

function resolveResetPolicy(
  option: OffsetResetPolicy | undefined,
): ResolvedConsumerOptions<unknown, unknown>["autoOffsetReset"] {
  if (option === undefined) return "latest";
  if (option === "earliest" || option === "latest" || option === "none") return option;
  if (typeof option === "object" && option !== null) {
    const timestamp = option.timestamp instanceof Date ? option.timestamp.getTime() : option.timestamp;
    if (Number.isSafeInteger(timestamp) && timestamp >= 0) return { timestamp };
  }
  throw invalidOption(
    `autoOffsetReset must be "earliest", "latest", "none" or { timestamp: ms since the epoch | Date }, not ${JSON.stringify(option)}`,
  );
}

function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") throw invalidOption(`${name} must be true or false`);
}

/** Checks every consumer-specific option (the client options are the Cluster's) and fills in the defaults. */
export function resolveConsumerOptions<Value, Key>(
  options: ConsumerOptions<Value, Key>,
): ResolvedConsumerOptions<Value, Key> {
  if (typeof options !== "object" || options === null) throw invalidOption("options must be an object");
  const { groupId, groupInstanceId } = options;
  if (groupId !== undefined && (typeof groupId !== "string" || groupId === "")) {
    throw invalidOption("groupId must be a non-empty string");
  }
  if (groupInstanceId !== undefined) {
    if (typeof groupInstanceId !== "string" || groupInstanceId === "") {
      throw invalidOption("groupInstanceId must be a non-empty string");
    }
    if (groupId === undefined) throw invalidOption("groupInstanceId needs a groupId");
  }
  for (const name of [
    "sessionTimeoutMs",
    "heartbeatIntervalMs",
    "maxPollIntervalMs",
    "rebalanceTimeoutMs",
    "autoCommitIntervalMs",
    "fetchMinBytes",
    "fetchMaxBytes",
    "partitionMaxBytes",
    "fetchMaxWaitMs",
  ] as const) {
    checkPositiveInteger(name, options[name], { allowZero: name === "fetchMaxWaitMs" });
    // int32 fields on the wire, and the most a Node timer can wait.
    const value = options[name];
    if (value !== undefined && value > MAX_INT32)
      throw invalidOption(`${name} must be at most ${MAX_INT32}, not ${value}`);
  }
  checkBoolean("autoCommit", options.autoCommit);
  checkBoolean("allowAutoTopicCreation", options.allowAutoTopicCreation);
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.min(3_000, Math.floor(sessionTimeoutMs / 3));
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw invalidOption(
      `heartbeatIntervalMs (${heartbeatIntervalMs}) must be less than sessionTimeoutMs (${sessionTimeoutMs}), a third of it or less being usual`,
    );
  }
  const isolationLevel = options.isolationLevel ?? "read_committed";
  if (isolationLevel !== "read_committed" && isolationLevel !== "read_uncommitted") {
    throw invalidOption(
      `isolationLevel must be "read_committed" or "read_uncommitted", not ${JSON.stringify(isolationLevel)}`,
    );
  }
  const maxPollIntervalMs = options.maxPollIntervalMs ?? 300_000;
  return {
    groupId,
    groupInstanceId: groupInstanceId ?? null,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxPollIntervalMs,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? maxPollIntervalMs,
    assignors: resolveAssignors(options.assignors),
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5_000,
    autoOffsetReset: resolveResetPolicy(options.autoOffsetReset),
    isolationLevel: isolationLevel === "read_committed" ? 1 : 0,
    fetchMaxWaitMs: options.fetchMaxWaitMs ?? 500,
    fetchMinBytes: options.fetchMinBytes ?? 1,
    fetchMaxBytes: options.fetchMaxBytes ?? 50 * 1024 * 1024,
    partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    keyDeserializer: resolveDeserializer("keyDeserializer", options.keyDeserializer),
    valueDeserializer: resolveDeserializer("valueDeserializer", options.valueDeserializer),
  };
}
