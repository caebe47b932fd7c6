import type { Logger } from "pino";

/**
 * The callbacks a partition log calls when its high watermark moves up (long-poll Fetch
 * waiters). A failing listener is logged, never allowed to break the append that woke it.
 */
export class AppendListeners {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, "append listener failed");
      }
    }
  }
}
