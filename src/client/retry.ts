import { setTimeout as sleep } from "node:timers/promises";
import { invalidOption, isRetriableError } from "./errors.js";

export interface RetryOptions {
  /** How long an operation may take, all its retries included; default 30 s. */
  timeoutMs?: number;
  /** Wait before the first retry; default 100 ms. Each further retry waits twice as long... */
  initialDelayMs?: number;
  /** ...up to this; default 1 s. Every wait is spread by ±20% so clients do not retry in step. */
  maxDelayMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = { timeoutMs: 30_000, initialDelayMs: 100, maxDelayMs: 1000 };

export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY, ...options };
  for (const key of ["timeoutMs", "initialDelayMs", "maxDelayMs"] as const) {
    const value = resolved[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw invalidOption(`retry.${key} must be a number of milliseconds ≥ 0, not ${JSON.stringify(value)}`);
    }
  }
  if (resolved.maxDelayMs < resolved.initialDelayMs) {
    throw invalidOption("retry.maxDelayMs must be at least retry.initialDelayMs");
  }
  return resolved;
}

/** The wait before retry number `attempt` (0 for the first retry): exponential, capped, jittered. */
export function backoffDelay(attempt: number, options: ResolvedRetryOptions): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export interface RetryContext {
  /** 0 for the first try. */
  attempt: number;
  /** When the whole operation must be over (Date.now() scale). */
  deadline: number;
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retriable, or the
 * time is up; then the last error is thrown as it is. `beforeRetry` runs after each
 * retriable failure, before the wait (e.g. to refresh metadata).
 */
export async function withRetry<T>(
  operation: (context: RetryContext) => Promise<T>,
  options: ResolvedRetryOptions,
  beforeRetry?: (error: unknown) => void | Promise<void>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation({ attempt, deadline });
    } catch (error) {
      if (!isRetriableError(error)) throw error;
      const delay = backoffDelay(attempt, options);
      if (Date.now() + delay >= deadline) throw error;
      await beforeRetry?.(error);
      await sleep(delay);
    }
  }
}
