import { setTimeout as sleep } from "node:timers/promises";
import type { InterceptedRequest, RequestInterceptor } from "../broker/dispatcher.js";
import { CloseConnection, type ConnectionContext, type FrameResponse } from "../broker/server/index.js";
import { ErrorCode, type ErrorCodeName, errorName } from "../protocol/errors.js";
import { API_CODECS } from "../protocol/generated/index.js";
import { errorResponse } from "./error-response.js";

/** An API by its Kafka name ("Produce", "Fetch", "OffsetCommit"...) or its key number. */
export type ApiName = keyof typeof API_CODECS;
export type ApiSelector = ApiName | number;
/** A Kafka error by name ("NOT_LEADER_OR_FOLLOWER") or numeric code (6). */
export type ErrorSelector = ErrorCodeName | number;

export interface FailOptions {
  /** The error every failed response carries. */
  error: ErrorSelector;
  /** How many of the next requests of the API fail; default 1. */
  times?: number;
}

export interface DelayOptions {
  /** How long each response is held back after the request has been handled. */
  ms: number;
  /** How many responses are delayed; default: all of them until clear(). */
  times?: number;
}

export interface DropOptions {
  /** How many of the next requests of the API have their connection closed; default 1. */
  times?: number;
}

/** One fault that a request met, in the order they happened. */
export interface InjectedFault {
  readonly api: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly kind: "error" | "delay" | "drop";
  /** For an "error": the Kafka error name it answered with. */
  readonly error?: string;
  /** For a "delay": how long the response was held back. */
  readonly ms?: number;
}

interface CountedRule<T> {
  value: T;
  remaining: number;
}

const API_NAMES = new Map<number, string>(Object.values(API_CODECS).map((codec) => [codec.apiKey, codec.name]));
const PRODUCE_KEY = API_CODECS.Produce.apiKey;
const ALL_APIS = -1;
const INJECTED_MESSAGE = "injected by brook/testing faults";

/**
 * Fault controls of an embedded test broker, for testing how code copes with a misbehaving
 * broker: failed requests, slow responses, lost connections. Faults apply to requests that
 * arrive after they are set; each counted fault is used up by the requests it hits.
 */
export class BrokerFaults implements RequestInterceptor {
  private readonly failures = new Map<number, CountedRule<number>[]>();
  private readonly delays = new Map<number, CountedRule<number>>();
  private readonly drops = new Map<number, CountedRule<null>>();
  private readonly connections = new Set<ConnectionContext>();
  private readonly history: InjectedFault[] = [];
  /** Aborted by clear(): the responses being held back go out at once. */
  private release = new AbortController();

  /** Every fault injected so far, oldest first (clear() does not reset it). */
  get injected(): readonly InjectedFault[] {
    return this.history;
  }

  /**
   * The next `times` requests of `api` are answered with `error` instead of being handled: a
   * well-formed response of the request's API and version, the error in each of its error codes.
   * Calls for the same API queue up: the second applies once the first is used up.
   */
  failNext(api: ApiSelector, options: FailOptions): void {
    const apiKey = resolveApi(api);
    const code = resolveError(options.error);
    const rules = this.failures.get(apiKey) ?? [];
    rules.push({ value: code, remaining: count("times", options.times, 1) });
    this.failures.set(apiKey, rules);
  }

  /** Holds back the responses of `api` (or of every API) by `ms`; replaces an earlier delay of the same API. */
  delay(options: DelayOptions): void;
  delay(api: ApiSelector, options: DelayOptions): void;
  delay(apiOrOptions: ApiSelector | DelayOptions, maybeOptions?: DelayOptions): void {
    const all = typeof apiOrOptions === "object";
    const options = (all ? apiOrOptions : maybeOptions) as DelayOptions | undefined;
    const ms = options?.ms;
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`delay: ms must be a number of milliseconds ≥ 0, not ${JSON.stringify(ms)}`);
    }
    const apiKey = all ? ALL_APIS : resolveApi(apiOrOptions);
    this.delays.set(apiKey, { value: ms, remaining: count("times", options?.times, Number.POSITIVE_INFINITY) });
  }

  /** The connections that send the next `times` requests of `api` are closed without a response. */
  dropNext(api: ApiSelector, options: DropOptions = {}): void {
    this.drops.set(resolveApi(api), { value: null, remaining: count("times", options.times, 1) });
  }

  /**
   * Closes every client connection now, abandoning their requests in flight; clients have to
   * reconnect. Returns how many were closed. (A connection is known once it has sent a
   * request, which Kafka clients do first thing.)
   */
  dropConnections(): number {
    const open = [...this.connections];
    for (const connection of open) connection.destroy();
    return open.length;
  }

  /** Removes every fault not used up yet and sends the responses being delayed now. */
  clear(): void {
    this.failures.clear();
    this.delays.clear();
    this.drops.clear();
    this.release.abort();
    this.release = new AbortController();
  }

  intercept(
    call: InterceptedRequest,
    handle: () => FrameResponse | Promise<FrameResponse>,
  ): FrameResponse | Promise<FrameResponse> {
    this.track(call.connection);
    if (this.failures.size === 0 && this.delays.size === 0 && this.drops.size === 0) return handle();

    const { apiKey } = call;
    if (take(this.drops, apiKey) !== undefined) {
      this.record(call, { kind: "drop" });
      throw new CloseConnection(`${apiName(apiKey)} request dropped by brook/testing faults`);
    }
    const failure = this.takeFailure(apiKey);
    const delayMs = take(this.delays, apiKey) ?? take(this.delays, ALL_APIS);
    let response: FrameResponse | Promise<FrameResponse>;
    if (failure === undefined) {
      response = handle();
    } else if (apiKey === PRODUCE_KEY && (call.request as { acks?: number }).acks === 0) {
      // An acks=0 producer reads no responses: Kafka reports its failures by closing the connection.
      this.record(call, { kind: "drop" });
      throw new CloseConnection(`Produce (acks=0) failed with ${errorName(failure)} by brook/testing faults`);
    } else {
      this.record(call, { kind: "error", error: errorName(failure) });
      response = call.encode(errorResponse(apiKey, call.apiVersion, call.request, failure, INJECTED_MESSAGE));
    }
    if (delayMs === undefined) return response;
    this.record(call, { kind: "delay", ms: delayMs });
    return delayed(response, delayMs, call.connection.signal, this.release.signal);
  }

  /** Connections are tracked from their first request until they close, for dropConnections(). */
  private track(connection: ConnectionContext): void {
    if (this.connections.has(connection) || connection.signal.aborted) return;
    this.connections.add(connection);
    connection.signal.addEventListener("abort", () => this.connections.delete(connection), { once: true });
  }

  private takeFailure(apiKey: number): number | undefined {
    const rules = this.failures.get(apiKey);
    const rule = rules?.[0];
    if (!rules || !rule) return undefined;
    if (--rule.remaining === 0) rules.shift();
    if (rules.length === 0) this.failures.delete(apiKey);
    return rule.value;
  }

  private record(call: InterceptedRequest, fault: Pick<InjectedFault, "kind" | "error" | "ms">): void {
    this.history.push({ api: apiName(call.apiKey), apiKey: call.apiKey, apiVersion: call.apiVersion, ...fault });
  }
}

/** Uses up one application of a counted rule; undefined when none applies. */
function take<T>(rules: Map<number, CountedRule<T>>, apiKey: number): T | undefined {
  const rule = rules.get(apiKey);
  if (!rule) return undefined;
  if (--rule.remaining === 0) rules.delete(apiKey);
  return rule.value;
}

async function delayed(
  response: FrameResponse | Promise<FrameResponse>,
  ms: number,
  connectionClosed: AbortSignal,
  released: AbortSignal,
): Promise<FrameResponse> {
  const answer = await response;
  try {
    await sleep(ms, undefined, { signal: AbortSignal.any([connectionClosed, released]) });
  } catch (error) {
    // A closed connection has nobody left to answer; a release by clear() answers now.
    if (connectionClosed.aborted) throw error;
  }
  return answer;
}

function apiName(apiKey: number): string {
  return API_NAMES.get(apiKey) ?? `API ${apiKey}`;
}

function resolveApi(api: ApiSelector): number {
  if (typeof api === "number" && API_NAMES.has(api)) return api;
  if (typeof api === "string" && Object.hasOwn(API_CODECS, api)) return API_CODECS[api].apiKey;
  throw new RangeError(
    `unknown API ${JSON.stringify(api)}: use a name (${[...API_NAMES.values()].join(", ")}) or its key number`,
  );
}

function resolveError(error: ErrorSelector): number {
  const code =
    typeof error === "string" && Object.hasOwn(ErrorCode, error)
      ? ErrorCode[error]
      : typeof error === "number"
        ? error
        : NaN;
  if (!Number.isInteger(code) || code === 0 || code < -32768 || code > 32767) {
    throw new RangeError(
      `unknown error ${JSON.stringify(error)}: use a Kafka error name (NOT_LEADER_OR_FOLLOWER) or a non-zero code`,
    );
  }
  return code;
}

function count(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1, not ${value}`);
  return value;
}
