import { ErrorCode, RETRIABLE_ERROR_CODES } from "./generated/error-codes.js";

export { ErrorCode, RETRIABLE_ERROR_CODES };
export type ErrorCodeName = keyof typeof ErrorCode;

const NAMES_BY_CODE = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as [ErrorCodeName, number][]).map(([name, code]) => [code, name]),
);

/** The Kafka name of an error code ("UNKNOWN_TOPIC_OR_PARTITION"), or "UNKNOWN_ERROR_<code>". */
export function errorName(code: number): string {
  return NAMES_BY_CODE.get(code) ?? `UNKNOWN_ERROR_${code}`;
}

export function isRetriable(code: number): boolean {
  return RETRIABLE_ERROR_CODES.has(code);
}

/**
 * An error a Kafka broker answered with. `code` is a stable string for programs to switch on
 * (the Kafka error name), `errorCode` the number on the wire.
 */
export class KafkaError extends Error {
  override readonly name = "KafkaError";
  readonly code: string;
  readonly errorCode: number;
  readonly retriable: boolean;

  constructor(errorCode: number, message?: string, options?: { cause?: unknown }) {
    const name = errorName(errorCode);
    super(message ? `${name}: ${message}` : name, options);
    this.code = name;
    this.errorCode = errorCode;
    this.retriable = isRetriable(errorCode);
  }
}
