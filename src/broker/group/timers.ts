import type { Logger } from "../../logger.js";

/** Runs a timer's action. A throw from a timer would end the process; it is logged instead. */
export function runGuarded(logger: Logger, action: () => void | Promise<void>): void {
  try {
    const result = action();
    if (result instanceof Promise) {
      result.catch((error: unknown) => logger.error({ err: error }, "group coordinator task failed"));
    }
  } catch (error) {
    logger.error({ err: error }, "group coordinator task failed");
  }
}

/**
 * A timer whose failure is logged, not fatal. It keeps the process alive, like the parked
 * requests it will answer; the coordinator clears every timer when it closes.
 */
export function scheduleGuarded(logger: Logger, delayMs: number, action: () => void): NodeJS.Timeout {
  return setTimeout(() => runGuarded(logger, action), delayMs);
}
