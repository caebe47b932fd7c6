import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

/** The generated encode/decode functions of one API, with the version range brook implements. */
export interface ApiCodec<Request, Response, RequestInput = Request, ResponseInput = Response> {
  readonly name: string;
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First version that uses the flexible (compact, tagged) encoding; Infinity if none. */
  readonly flexibleMinVersion: number;
  encodeRequest(w: Writer, version: number, message: RequestInput): void;
  decodeRequest(r: Reader, version: number): Request;
  encodeResponse(w: Writer, version: number, message: ResponseInput): void;
  decodeResponse(r: Reader, version: number): Response;
}

/** A version range, inclusive; the upper bound may be Infinity ("3+"). */
export type VersionRange = readonly [number, number];

/** The compact description of one field, as generated from the Kafka message definitions. */
export interface FieldSchema {
  readonly name: string;
  /** A primitive name, "struct", or "[]" followed by either. */
  readonly type: string;
  readonly versions: VersionRange;
  readonly nullable?: VersionRange;
  readonly tag?: number;
  readonly taggedVersions?: VersionRange;
  readonly fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly name: string;
  readonly apiKey: number | null;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleMinVersion: number;
  readonly fields: readonly FieldSchema[];
}

export function nullNotAllowed(field: string): ProtocolError {
  return new ProtocolError("PROTOCOL_NULL_NOT_ALLOWED", `null is not allowed for ${field} in this version`);
}
