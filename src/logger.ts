import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

export type { Logger };

export interface LoggerOptions {
  /** Default "warn": a healthy broker prints nothing. */
  level?: LevelWithSilent;
  /** Shown as `name` on every line, e.g. the component that logs. */
  name?: string;
  /** Where the JSON lines go; stderr unless a test wants to read them. */
  destination?: DestinationStream;
}

/**
 * The project's logger: one JSON object per line on stderr, so stdout stays free for what the
 * user asked a command to print. Writes are synchronous: the lines that matter most are the
 * ones written just before the process dies, and at the default level there are few of them.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  return pino({ level: options.level ?? "warn", name: options.name }, destination);
}

/** Discards everything; for tests and for components that were given no logger. */
export const silentLogger: Logger = pino({ level: "silent" });
