// The JSON log lines a brook process writes on stderr, and waiting for one to appear.
import type { BrokerProcess } from "./broker-process.js";

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** pino's level numbers. */
export const LOG_LEVEL = { info: 30, warn: 40, error: 50 } as const;

/** Every complete JSON line so far; plain-text lines (start-up warnings) are left out. */
export function logLines(broker: BrokerProcess): LogLine[] {
  return broker
    .stderr()
    .split("\n")
    .slice(0, -1)
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

/**
 * Resolves with the first line that matches, as soon as the broker has written it. Stderr is a
 * pipe of its own, so a line can arrive after what the broker did next on a socket or stdout.
 */
export function waitForLog(broker: BrokerProcess, matches: (line: LogLine) => boolean): Promise<LogLine> {
  const find = () => logLines(broker).find(matches);
  const found = find();
  if (found) return Promise.resolve(found);
  const stream = broker.child.stderr!;
  return new Promise((resolve) => {
    // BrokerProcess's own listener was added first, so stderr() already holds the chunk.
    const onData = () => {
      const line = find();
      if (!line) return;
      stream.off("data", onData);
      resolve(line);
    };
    stream.on("data", onData);
  });
}
