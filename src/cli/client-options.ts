// The options every command that talks to a cluster shares: where the brokers are, and the
// client settings a command line wants (fail within seconds when nothing answers, rather than
// the library's patient 30 s).
import { type Command, Option } from "commander";
import { Admin } from "../client/admin.js";
import type { ClientOptions } from "../client/options.js";
import { integer } from "./arguments.js";

export const DEFAULT_BROKERS = "127.0.0.1:9092";

/** Adds `--brokers` (default: $BROOK_BROKERS, else 127.0.0.1:9092) and `--timeout` to a command. */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option("-b, --brokers <list>", "comma-separated bootstrap brokers, host:port")
        .env("BROOK_BROKERS")
        .default(DEFAULT_BROKERS),
    )
    .addOption(
      new Option("--timeout <ms>", "give up on an unreachable or unresponsive cluster after this long")
        .argParser(integer("--timeout", 1))
        .default(10_000),
    );
}

export interface ClientCommandOptions {
  brokers: string;
  timeout: number;
}

export function clientOptions(options: ClientCommandOptions, clientId = "brook-cli"): ClientOptions {
  return {
    brokers: options.brokers,
    clientId,
    connectTimeoutMs: Math.min(options.timeout, 5_000),
    requestTimeoutMs: options.timeout,
    retry: { timeoutMs: options.timeout, initialDelayMs: 100, maxDelayMs: 1_000 },
  };
}

/** Runs `action` with a connected Admin, closed afterwards whatever happens. */
export async function withAdmin<T>(options: ClientCommandOptions, action: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(options));
  try {
    await admin.connect();
    return await action(admin);
  } finally {
    await admin.close();
  }
}
