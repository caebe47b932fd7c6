import { ErrorCode, errorName, isRetriable } from "../protocol/errors.js";

/**
 * The stable codes of the failures the client itself detects. Errors a broker answered with
 * use the Kafka error name instead ("NOT_LEADER_OR_FOLLOWER"), see `BrookError.fromKafkaCode`.
 */
export type BrookErrorCode =
  | "BROOK_INVALID_OPTION"
  | "BROOK_INVALID_MESSAGE"
  | "BROOK_SERIALIZATION"
  | "BROOK_CONNECTION_FAILED"
  | "BROOK_CONNECTION_CLOSED"
  | "BROOK_CONNECT_TIMEOUT"
  | "BROOK_REQUEST_TIMEOUT"
  | "BROOK_TIMEOUT"
  | "BROOK_PROTOCOL"
  | "BROOK_UNSUPPORTED_VERSION"
  | "BROOK_UNKNOWN_BROKER"
  | "BROOK_UNKNOWN_TOPIC"
  | "BROOK_UNKNOWN_PARTITION"
  | "BROOK_LEADER_NOT_AVAILABLE"
  | "BROOK_SASL_FAILED"
  | "BROOK_BUFFER_FULL"
  | "BROOK_CLOSED";

export interface BrookErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** The numeric Kafka error code, when a broker answered with one. */
  kafkaCode?: number;
  /** The broker the error came from or concerns. */
  broker?: string;
  topic?: string;
  partition?: number;
}

/**
 * Every error the client rejects with. `code` is stable and meant for programs to switch on:
 * a `BROOK_*` code for what the client detected, or the Kafka error name (`MESSAGE_TOO_LARGE`)
 * for an error a broker answered with — then `kafkaName` and `kafkaCode` say which.
 */
export class BrookError extends Error {
  override name = "BrookError";
  readonly code: string;
  readonly retriable: boolean;
  readonly kafkaCode: number | undefined;
  readonly kafkaName: string | undefined;
  readonly broker: string | undefined;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(code: BrookErrorCode | string, message: string, options: BrookErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kafkaCode = options.kafkaCode;
    this.kafkaName = options.kafkaCode === undefined ? undefined : errorName(options.kafkaCode);
    this.retriable = options.retriable ?? (options.kafkaCode !== undefined && isRetriable(options.kafkaCode));
    this.broker = options.broker;
    this.topic = options.topic;
    this.partition = options.partition;
  }

  /**
   * The error for a Kafka error code found in a response. `what` says what failed, e.g.
   * "produce to orders-3"; the broker's own error message, when it sent one, is appended.
   */
  static fromKafkaCode(
    kafkaCode: number,
    what: string,
    options: Omit<BrookErrorOptions, "kafkaCode"> & { brokerMessage?: string | null } = {},
  ): BrookError {
    const name = errorName(kafkaCode);
    const detail = options.brokerMessage ? `: ${options.brokerMessage}` : "";
    return new BrookError(name, `${what} failed with ${name}${detail}`, { ...options, kafkaCode });
  }
}

/** The client's options were invalid; thrown synchronously by constructors. */
export function invalidOption(message: string): BrookError {
  return new BrookError("BROOK_INVALID_OPTION", message);
}

/** Kafka errors after which the client's view of leaders or topics is probably stale. */
const STALE_METADATA_CODES = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_CONTROLLER,
]);

/** Kafka errors after which the cached group (or transaction) coordinator must be looked up again. */
const STALE_COORDINATOR_CODES = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);

const CONNECTION_CODES = new Set<string>([
  "BROOK_CONNECTION_FAILED",
  "BROOK_CONNECTION_CLOSED",
  "BROOK_CONNECT_TIMEOUT",
  "BROOK_REQUEST_TIMEOUT",
]);

export function isStaleMetadataCode(kafkaCode: number): boolean {
  return STALE_METADATA_CODES.has(kafkaCode);
}

export function isStaleCoordinatorCode(kafkaCode: number): boolean {
  return STALE_COORDINATOR_CODES.has(kafkaCode);
}

/** A connection failed or timed out: the broker may be gone, so metadata deserves a refresh. */
export function isConnectionError(error: unknown): boolean {
  return error instanceof BrookError && CONNECTION_CODES.has(error.code);
}

/** Whether retrying the operation that failed with `error` may succeed. */
export function isRetriableError(error: unknown): boolean {
  return error instanceof BrookError && error.retriable;
}

/** Whether `error` says the cluster's metadata should be refreshed before a retry. */
export function needsMetadataRefresh(error: unknown): boolean {
  if (!(error instanceof BrookError)) return false;
  if (isConnectionError(error)) return true;
  if (error.code === "BROOK_LEADER_NOT_AVAILABLE" || error.code === "BROOK_UNKNOWN_BROKER") return true;
  return error.kafkaCode !== undefined && isStaleMetadataCode(error.kafkaCode);
}
