import type { ApiCodec } from "../protocol/codec-support.js";
import { ErrorCode } from "../protocol/errors.js";
import { defaultApiVersionsResponse } from "../protocol/generated/api-versions.js";
import { API_CODECS, type ApiName } from "../protocol/generated/index.js";
import type { Reader } from "../protocol/reader.js";
import { Connection } from "./connection.js";
import { BrookError } from "./errors.js";
import { type BrokerAddress, formatAddress, type ResolvedClientOptions } from "./options.js";
import { createSaslExchange, type SaslOptions } from "./sasl.js";

export type RequestOf<N extends ApiName> = Parameters<(typeof API_CODECS)[N]["encodeRequest"]>[2];
export type ResponseOf<N extends ApiName> = ReturnType<(typeof API_CODECS)[N]["decodeResponse"]>;

export interface SendOptions {
  /**
   * Which connection to the broker: requests on one connection are answered in order, so
   * traffic that must not wait behind long-polling fetches (group heartbeats) gets its own
   * channel, e.g. "group". Default "default".
   */
  channel?: string;
  /** Overrides requestTimeoutMs for this request. */
  timeoutMs?: number;
  /** Restricts the version range, for requests whose builder does not handle every version. */
  minVersion?: number;
  maxVersion?: number;
}

/** What the client says about itself in ApiVersions v3+ (KIP-511). */
const CLIENT_SOFTWARE_NAME = "brook";
const CLIENT_SOFTWARE_VERSION = "0.1.0";

/**
 * ApiVersions with Kafka's fallback rule: a broker that does not know the version asked for
 * answers UNSUPPORTED_VERSION with a v0 body, whatever the request's version. Some brokers get
 * that body wrong (librdkafka 2.0.2's mock writes a one-byte array count); then only the error
 * code is kept, and the client retries at v0.
 */
// biome-ignore lint/suspicious/noExplicitAny: the codec's request and response types are those of ApiVersions.
const API_VERSIONS: ApiCodec<any, ResponseOf<"ApiVersions">, RequestOf<"ApiVersions">, any> = {
  ...API_CODECS.ApiVersions,
  decodeResponse(reader: Reader, version: number) {
    const unsupported =
      version > 0 && reader.remaining >= 2 && reader.buf.readInt16BE(reader.offset) === ErrorCode.UNSUPPORTED_VERSION;
    if (!unsupported) return API_CODECS.ApiVersions.decodeResponse(reader, version);
    try {
      return API_CODECS.ApiVersions.decodeResponse(reader, 0);
    } catch {
      return { ...defaultApiVersionsResponse(), errorCode: ErrorCode.UNSUPPORTED_VERSION };
    }
  },
};

/**
 * One authenticated connection to one broker with the API versions it supports. Versions are
 * chosen per request: the highest both sides know, `min(client max, broker max)`.
 */
export class BrokerSession {
  readonly address: string;

  constructor(
    readonly connection: Connection,
    private readonly ranges: ReadonlyMap<number, readonly [number, number]>,
  ) {
    this.address = connection.address;
  }

  /** The broker's version range of an API, or undefined if it does not support it. */
  brokerRange(api: ApiName): readonly [number, number] | undefined {
    return this.ranges.get(API_CODECS[api].apiKey);
  }

  /** The version to use for `api`; a BrookError when the two sides have no version in common. */
  version(api: ApiName, options: SendOptions = {}): number {
    const codec = API_CODECS[api];
    const range = this.ranges.get(codec.apiKey);
    if (!range) {
      throw new BrookError("BROOK_UNSUPPORTED_VERSION", `broker ${this.address} does not support ${api}`, {
        broker: this.address,
      });
    }
    const clientMin = Math.max(codec.minVersion, options.minVersion ?? 0);
    const clientMax = Math.min(codec.maxVersion, options.maxVersion ?? Number.POSITIVE_INFINITY);
    const version = Math.min(clientMax, range[1]);
    if (version < Math.max(clientMin, range[0])) {
      throw new BrookError(
        "BROOK_UNSUPPORTED_VERSION",
        `no version of ${api} both sides know: the client speaks v${clientMin}–v${clientMax}, broker ${this.address} v${range[0]}–v${range[1]}`,
        { broker: this.address },
      );
    }
    return version;
  }

  send<N extends ApiName>(
    api: N,
    build: (version: number) => RequestOf<N>,
    options: SendOptions = {},
  ): Promise<ResponseOf<N>> {
    let version: number;
    let request: RequestOf<N>;
    try {
      version = this.version(api, options);
      request = build(version);
    } catch (error) {
      return Promise.reject(error);
    }
    // biome-ignore lint/suspicious/noExplicitAny: API_CODECS[api] is the codec of N.
    const codec = API_CODECS[api] as ApiCodec<any, ResponseOf<N>, RequestOf<N>, any>;
    return this.connection.send(codec, version, request, { timeoutMs: options.timeoutMs });
  }

  /** A request the broker does not answer (Produce with acks=0). */
  sendWithoutResponse<N extends ApiName>(
    api: N,
    build: (version: number) => RequestOf<N>,
    options: SendOptions = {},
  ): Promise<void> {
    let version: number;
    let request: RequestOf<N>;
    try {
      version = this.version(api, options);
      request = build(version);
    } catch (error) {
      return Promise.reject(error);
    }
    // biome-ignore lint/suspicious/noExplicitAny: API_CODECS[api] is the codec of N.
    const codec = API_CODECS[api] as ApiCodec<any, unknown, RequestOf<N>, any>;
    return this.connection.sendWithoutResponse(codec, version, request);
  }
}

async function negotiateVersions(connection: Connection): Promise<Map<number, readonly [number, number]>> {
  let version = API_CODECS.ApiVersions.maxVersion;
  for (;;) {
    const response = await connection.send(API_VERSIONS, version, {
      clientSoftwareName: CLIENT_SOFTWARE_NAME,
      clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
    });
    if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
      // Retry with the broker's highest ApiVersions, or v0 when it does not say (as librdkafka does).
      const advertised = response.apiKeys.find((k) => k.apiKey === API_CODECS.ApiVersions.apiKey)?.maxVersion;
      version = advertised === undefined ? 0 : Math.min(advertised, version - 1);
      continue;
    }
    if (response.errorCode !== ErrorCode.NONE) {
      throw BrookError.fromKafkaCode(response.errorCode, `ApiVersions with ${connection.address}`, {
        broker: connection.address,
      });
    }
    return new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as const]));
  }
}

async function authenticate(session: BrokerSession, sasl: SaslOptions): Promise<void> {
  const exchange = createSaslExchange(sasl);
  const broker = session.address;
  // Handshake v1 puts the SASL tokens in SaslAuthenticate requests; v0 would send them raw.
  const handshake = await session.send("SaslHandshake", () => ({ mechanism: exchange.mechanism }), { minVersion: 1 });
  if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new BrookError(
      "UNSUPPORTED_SASL_MECHANISM",
      `broker ${broker} does not enable SASL mechanism ${exchange.mechanism} (it enables ${handshake.mechanisms.join(", ") || "none"})`,
      { kafkaCode: handshake.errorCode, retriable: false, broker },
    );
  }
  if (handshake.errorCode !== ErrorCode.NONE) {
    throw BrookError.fromKafkaCode(handshake.errorCode, `SaslHandshake with ${broker}`, { broker, retriable: false });
  }
  let token: Buffer | null = exchange.start();
  while (token !== null) {
    const authBytes: Buffer = token;
    const response = await session.send("SaslAuthenticate", () => ({ authBytes }));
    if (response.errorCode !== ErrorCode.NONE) {
      throw new BrookError(
        "SASL_AUTHENTICATION_FAILED",
        `SASL ${exchange.mechanism} authentication as '${sasl.username}' failed on broker ${broker}: ${response.errorMessage ?? "no reason given"}`,
        { kafkaCode: response.errorCode, retriable: false, broker },
      );
    }
    token = await exchange.next(response.authBytes);
  }
}

/** Connects to a broker, negotiates API versions and authenticates. */
export async function openBrokerSession(
  address: BrokerAddress,
  options: ResolvedClientOptions,
): Promise<BrokerSession> {
  const connection = new Connection({
    host: address.host,
    port: address.port,
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    tls: options.tls,
  });
  try {
    await connection.ready;
    const session = new BrokerSession(connection, await negotiateVersions(connection));
    if (options.sasl) await authenticate(session, options.sasl);
    return session;
  } catch (error) {
    connection.destroy();
    if (error instanceof BrookError) throw error;
    throw new BrookError("BROOK_PROTOCOL", `cannot set up a session with ${formatAddress(address)}: ${error}`, {
      cause: error,
    });
  }
}
