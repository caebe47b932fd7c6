import type { ApiCodec } from "./codec-support.js";
import { API_CODECS, type ApiName } from "./generated/index.js";
import { decodeRequestHeader, encodeRequestHeader, type RequestHeader } from "./generated/request-header.js";
import { ProtocolError } from "./protocol-error.js";
import { Reader } from "./reader.js";
import { Writer } from "./writer.js";

// biome-ignore lint/suspicious/noExplicitAny: the table holds codecs of every message type.
export type AnyApiCodec = ApiCodec<any, any>;

const CODECS_BY_KEY = new Map<number, AnyApiCodec>(Object.values(API_CODECS).map((c) => [c.apiKey, c]));

export const API_VERSIONS_KEY = API_CODECS.ApiVersions.apiKey;

/** The codec of an API key, or undefined for a key brook does not implement. */
export function codecForKey(apiKey: number): AnyApiCodec | undefined {
  return CODECS_BY_KEY.get(apiKey);
}

function isFlexible(codec: AnyApiCodec | undefined, version: number): boolean {
  return codec !== undefined && version >= codec.flexibleMinVersion;
}

/** Request header v2 for flexible versions, v1 otherwise. */
export function requestHeaderVersion(apiKey: number, version: number): number {
  return isFlexible(codecForKey(apiKey), version) ? 2 : 1;
}

/** Response header v1 for flexible versions, v0 otherwise — and always v0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, version: number): number {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return isFlexible(codecForKey(apiKey), version) ? 1 : 0;
}

export interface DecodedRequestFrame {
  header: RequestHeader;
  /** Positioned at the start of the request body. */
  body: Reader;
}

/**
 * Reads the header of a request frame (the bytes after the size prefix). Header v1 is a
 * prefix of v2, so the api key and version are read first and decide whether a tagged-field
 * section follows.
 */
export function decodeRequestFrame(frame: Buffer): DecodedRequestFrame {
  const reader = new Reader(frame);
  if (frame.length < 8) throw new ProtocolError("PROTOCOL_TRUNCATED", `request frame of ${frame.length} bytes`);
  const apiKey = frame.readInt16BE(0);
  const version = frame.readInt16BE(2);
  const header = decodeRequestHeader(reader, requestHeaderVersion(apiKey, version));
  return { header, body: reader };
}

/** Encodes a whole request frame, size prefix included. */
export function encodeRequestFrame<Request>(
  codec: ApiCodec<Request, unknown>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Request,
): Buffer[] {
  const w = new Writer();
  w.writeInt32(0); // size, patched below
  encodeRequestHeader(w, requestHeaderVersion(codec.apiKey, version), {
    requestApiKey: codec.apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  });
  codec.encodeRequest(w, version, body);
  const length = w.length;
  const chunks = w.finish();
  (chunks[0] as Buffer).writeInt32BE(length - 4, 0);
  return chunks;
}

/**
 * Encodes a response (header and body) without its size prefix, which the connection adds.
 * Record bytes stay referenced, not copied.
 */
export function encodeResponsePayload(
  apiKey: number,
  version: number,
  correlationId: number,
  writeBody: (w: Writer) => void,
): Buffer[] {
  const w = new Writer();
  w.writeInt32(correlationId);
  if (responseHeaderVersion(apiKey, version) === 1) w.writeUVarint(0); // empty tagged fields
  writeBody(w);
  return w.finish();
}

export interface DecodedResponseFrame {
  correlationId: number;
  body: Reader;
}

/** Reads the header of a response frame (without its size prefix); its body reads a null string or bytes where the schema allows none as empty (see Reader). */
export function decodeResponseFrame(frame: Buffer, apiKey: number, version: number): DecodedResponseFrame {
  const reader = new Reader(frame, 0, frame.length, { nullAsEmpty: true });
  const correlationId = reader.readInt32();
  if (responseHeaderVersion(apiKey, version) === 1) reader.readTaggedFields();
  return { correlationId, body: reader };
}

export { API_CODECS, type ApiName };
