import type { PartitionLog } from "./storage/storage.js";

/**
 * Resolves when any of `logs` receives an append, when `timeoutMs` passes, or when the
 * broker shuts down — whichever comes first. This is what lets a long-poll Fetch answer as
 * soon as data arrives without polling.
 */
export function waitForAppend(logs: readonly PartitionLog[], timeoutMs: number, shutdown: AbortSignal): Promise<void> {
  if (shutdown.aborted || timeoutMs <= 0 || logs.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const unsubscribers: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      shutdown.removeEventListener("abort", done);
      for (const unsubscribe of unsubscribers) unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    shutdown.addEventListener("abort", done, { once: true });
    for (const log of logs) unsubscribers.push(log.onAppend(done));
  });
}
