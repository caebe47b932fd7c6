import type { ErrorCodeName } from "../../protocol/errors.js";

/**
 * The Kafka error a storage failure is answered with, so a handler can put
 * `ErrorCode[error.code]` on the wire without a mapping table of its own.
 */
export type StorageErrorCode = Extract<
  ErrorCodeName,
  | "KAFKA_STORAGE_ERROR"
  | "OFFSET_OUT_OF_RANGE"
  | "UNKNOWN_TOPIC_OR_PARTITION"
  | "TOPIC_ALREADY_EXISTS"
  | "INVALID_PARTITIONS"
  | "INVALID_TOPIC_EXCEPTION"
  | "CORRUPT_MESSAGE"
>;

/**
 * Every failure of the storage engines: disk errors (KAFKA_STORAGE_ERROR, with the
 * system error as `cause`), corrupt state files met at startup (also KAFKA_STORAGE_ERROR,
 * naming the file and what is wrong with it), and requests the log cannot honour.
 */
export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Wraps a system error from a file operation; `what` says which operation on which file. */
export function ioError(what: string, cause: unknown): StorageError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StorageError("KAFKA_STORAGE_ERROR", `${what}: ${reason}`, { cause });
}
