import type { ApiCodec } from "../../protocol/codec-support.js";
import type { RequestHeader } from "../../protocol/generated/request-header.js";
import type { BrokerContext } from "../broker-context.js";

/** Returned by a handler when the request gets no response at all (a Produce with acks=0). */
export const NO_RESPONSE = Symbol("no response");

/** What a handler knows about the request beyond its body. */
export interface RequestContext {
  readonly broker: BrokerContext;
  readonly header: RequestHeader;
  readonly apiVersion: number;
  readonly clientId: string;
  /** The client's address, as DescribeGroups reports it ("/127.0.0.1"). */
  readonly clientHost: string;
  /** A per-connection identifier, stable for the connection's life. */
  readonly connectionId: number;
}

/**
 * One API key's handler: the codec it decodes and encodes with, the versions it serves
 * (what ApiVersions advertises) and the function that answers a decoded request. Handlers
 * answer errors with error codes in the response and never throw for a client's mistake;
 * a throw closes the connection.
 */
export interface Handler<Request, ResponseInput> {
  // biome-ignore lint/suspicious/noExplicitAny: only the request and response input types matter here.
  readonly codec: ApiCodec<Request, any, any, ResponseInput>;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(
    request: Request,
    context: RequestContext,
  ): ResponseInput | typeof NO_RESPONSE | Promise<ResponseInput | typeof NO_RESPONSE>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of every message type.
export type AnyHandler = Handler<any, any>;

/** Declares a handler serving every version its codec implements unless a range is given. */
export function defineHandler<Request, ResponseInput>(
  // biome-ignore lint/suspicious/noExplicitAny: only the request and response input types matter here.
  codec: ApiCodec<Request, any, any, ResponseInput>,
  handle: Handler<Request, ResponseInput>["handle"],
  versions: { min?: number; max?: number } = {},
): Handler<Request, ResponseInput> {
  return { codec, minVersion: versions.min ?? codec.minVersion, maxVersion: versions.max ?? codec.maxVersion, handle };
}
