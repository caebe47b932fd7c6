import { ErrorCode } from "../protocol/errors.js";
import { API_VERSIONS_KEY, decodeRequestFrame, encodeResponsePayload } from "../protocol/frames.js";
import { encodeApiVersionsResponse } from "../protocol/generated/api-versions.js";
import { ProtocolError } from "../protocol/protocol-error.js";
import type { Writer } from "../protocol/writer.js";
import type { BrokerContext } from "./broker-context.js";
import { type AnyHandler, NO_RESPONSE, type RequestContext } from "./handlers/handler.js";
import { CloseConnection, type ConnectionContext, type FrameHandler, type FrameResponse } from "./server/index.js";

/** One decoded request as a RequestInterceptor sees it. */
export interface InterceptedRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** The decoded request body, as the handler would receive it. */
  readonly request: unknown;
  readonly connection: ConnectionContext;
  /** Encodes a response body of this request's API and version into the response frame. */
  encode(response: unknown): FrameResponse;
}

/**
 * Sits between decoding and the handler (the testing helper's faults): it answers a request
 * itself, delays it, closes its connection (by throwing CloseConnection), or calls `handle`
 * to let the handler answer as usual.
 */
export interface RequestInterceptor {
  intercept(
    call: InterceptedRequest,
    handle: () => FrameResponse | Promise<FrameResponse>,
  ): FrameResponse | Promise<FrameResponse>;
}

export interface SupportedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * Turns request frames into response frames: reads the header, checks the API and version
 * against the registered handlers, decodes the body, runs the handler and encodes its answer.
 * Everything a client can get wrong ends either in an error code or in CloseConnection for
 * that client alone, as a Kafka broker does.
 */
export class Dispatcher implements FrameHandler {
  private readonly handlers = new Map<number, AnyHandler>();
  readonly supportedApis: readonly SupportedApi[];
  /** Null in a normal broker, so the request path pays a single comparison for it. */
  interceptor: RequestInterceptor | null = null;

  constructor(
    private readonly broker: BrokerContext,
    handlers: readonly AnyHandler[],
  ) {
    for (const handler of handlers) this.handlers.set(handler.codec.apiKey, handler);
    this.supportedApis = [...this.handlers.values()]
      .map((h) => ({ apiKey: h.codec.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  handleFrame(frame: Buffer, connection: ConnectionContext): FrameResponse | Promise<FrameResponse> {
    let decoded: ReturnType<typeof decodeRequestFrame>;
    try {
      decoded = decodeRequestFrame(frame);
    } catch (error) {
      throw new CloseConnection(`unreadable request header: ${(error as Error).message}`);
    }
    const { header, body } = decoded;
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const handler = this.handlers.get(apiKey);

    if (apiKey === API_VERSIONS_KEY && handler && version > handler.maxVersion) {
      // A client newer than us: answer with a v0 body naming our range, so it retries lower.
      return encodeResponsePayload(apiKey, 0, header.correlationId, (w) =>
        encodeApiVersionsResponse(w, 0, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: [{ apiKey, minVersion: handler.minVersion, maxVersion: handler.maxVersion }],
        }),
      );
    }
    if (!handler) throw new CloseConnection(`unsupported API key ${apiKey} (version ${version})`);
    if (version < handler.minVersion || version > handler.maxVersion) {
      throw new CloseConnection(
        `unsupported version ${version} of ${handler.codec.name} (supported ${handler.minVersion}-${handler.maxVersion})`,
      );
    }

    let request: unknown;
    try {
      request = handler.codec.decodeRequest(body, version);
    } catch (error) {
      if (apiKey === API_VERSIONS_KEY) {
        // Kafka answers a malformed ApiVersions with INVALID_REQUEST so the client can retry at v0.
        return this.encode(handler, version, header.correlationId, {
          errorCode: ErrorCode.INVALID_REQUEST,
          apiKeys: [],
        });
      }
      const reason = error instanceof ProtocolError ? error.message : String(error);
      throw new CloseConnection(`malformed ${handler.codec.name} v${version} request: ${reason}`);
    }

    const context: RequestContext = {
      broker: this.broker,
      header,
      apiVersion: version,
      clientId: header.clientId ?? "",
      clientHost: `/${connection.remoteAddress}`,
      connectionId: connection.id,
    };
    if (this.interceptor !== null) return this.intercept(this.interceptor, handler, request, context, connection);
    return this.run(handler, request, context);
  }

  private run(handler: AnyHandler, request: unknown, context: RequestContext): FrameResponse | Promise<FrameResponse> {
    const { apiVersion, header } = context;
    const result = handler.handle(request, context);
    if (result instanceof Promise) {
      return result.then((response) => this.finish(handler, apiVersion, header.correlationId, response));
    }
    return this.finish(handler, apiVersion, header.correlationId, result);
  }

  private intercept(
    interceptor: RequestInterceptor,
    handler: AnyHandler,
    request: unknown,
    context: RequestContext,
    connection: ConnectionContext,
  ): FrameResponse | Promise<FrameResponse> {
    const { apiVersion, header } = context;
    return interceptor.intercept(
      {
        apiKey: handler.codec.apiKey,
        apiVersion,
        request,
        connection,
        encode: (response) => this.encode(handler, apiVersion, header.correlationId, response),
      },
      () => this.run(handler, request, context),
    );
  }

  private finish(handler: AnyHandler, version: number, correlationId: number, response: unknown): Buffer[] | null {
    if (response === NO_RESPONSE) return null;
    return this.encode(handler, version, correlationId, response);
  }

  private encode(handler: AnyHandler, version: number, correlationId: number, response: unknown): Buffer[] {
    return encodeResponsePayload(handler.codec.apiKey, version, correlationId, (w: Writer) =>
      handler.codec.encodeResponse(w, version, response),
    );
  }
}

export { CloseConnection, NO_RESPONSE };
