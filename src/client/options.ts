import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { invalidOption } from "./errors.js";
import { type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions } from "./retry.js";
import { type SaslOptions, validateSaslOptions } from "./sasl.js";

/** The options every client (Producer, Admin, Consumer) shares. */
export interface ClientOptions {
  /** Bootstrap brokers, "host:port" (IPv6 as "[::1]:9092"); a comma-separated string works too. */
  brokers: string | readonly string[];
  /** Sent with every request; brokers log it and use it for quotas. Default "brook". */
  clientId?: string;
  /** How long to wait for a TCP/TLS connection; default 10 s. */
  connectTimeoutMs?: number;
  /** How long to wait for a response to any request; default 30 s. */
  requestTimeoutMs?: number;
  /** Retries of retriable failures: exponential backoff with jitter, bounded by a total time. */
  retry?: RetryOptions;
  /** Cached topic metadata older than this is refreshed in the background; default 5 min. */
  metadataMaxAgeMs?: number;
  /** Connect with TLS: `true` for the system's trusted CAs, or node:tls options (ca, cert, key, servername...). */
  tls?: boolean | TlsConnectionOptions;
  /** Authenticate with SASL (SaslHandshake v1 + SaslAuthenticate) on every connection. */
  sasl?: SaslOptions;
}

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface ResolvedClientOptions {
  brokers: BrokerAddress[];
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  retry: ResolvedRetryOptions;
  metadataMaxAgeMs: number;
  tls: boolean | TlsConnectionOptions | undefined;
  sasl: SaslOptions | undefined;
}

export function formatAddress(address: BrokerAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export function parseBrokerAddress(text: string): BrokerAddress {
  const match = /^\s*(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    throw invalidOption(`brokers: ${JSON.stringify(text)} is not "host:port"`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

export function checkPositiveInteger(name: string, value: unknown, options: { allowZero?: boolean } = {}): void {
  if (value === undefined) return;
  const min = options.allowZero ? 0 : 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw invalidOption(`${name} must be an integer ≥ ${min}, not ${JSON.stringify(value)}`);
  }
}

export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== "object" || options === null) throw invalidOption("options must be an object");
  const list = typeof options.brokers === "string" ? options.brokers.split(",") : options.brokers;
  if (!Array.isArray(list) || list.length === 0 || !list.every((b) => typeof b === "string" && b.trim() !== "")) {
    throw invalidOption('brokers must be a non-empty list of "host:port" strings');
  }
  if (options.clientId !== undefined && typeof options.clientId !== "string") {
    throw invalidOption("clientId must be a string");
  }
  checkPositiveInteger("connectTimeoutMs", options.connectTimeoutMs);
  checkPositiveInteger("requestTimeoutMs", options.requestTimeoutMs);
  checkPositiveInteger("metadataMaxAgeMs", options.metadataMaxAgeMs, { allowZero: true });
  if (
    options.tls !== undefined &&
    typeof options.tls !== "boolean" &&
    (typeof options.tls !== "object" || !options.tls)
  ) {
    throw invalidOption("tls must be true, false or an object of node:tls connection options");
  }
  if (options.sasl !== undefined) validateSaslOptions(options.sasl);
  return {
    brokers: list.map(parseBrokerAddress),
    clientId: options.clientId ?? "brook",
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    retry: resolveRetryOptions(options.retry),
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    tls: options.tls,
    sasl: options.sasl,
  };
}
