import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { Broker, DEFAULT_PORT } from "../broker/broker.js";
import type { FsyncPolicy } from "../broker/storage/durability.js";
import { createLogger } from "../logger.js";
import { integer } from "./arguments.js";
import { UserError } from "./user-error.js";

/** `--fsync always|never|<ms>`. */
export function parseFsync(value: string): FsyncPolicy {
  if (value === "always" || value === "never") return value;
  const ms = Number(value);
  if (Number.isInteger(ms) && ms > 0) return { intervalMs: ms };
  throw new InvalidArgumentError('--fsync takes "always", "never" or an interval in milliseconds.');
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export function startCommand(program: Command): void {
  program
    .command("start")
    .description("run a broker")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on", integer("--port", 0), DEFAULT_PORT)
    .option("--advertised-host <host>", "host clients are told to connect to (default: --host)")
    .option(
      "--advertised-port <port>",
      "port clients are told to connect to (default: --port)",
      integer("--advertised-port", 1),
    )
    .option("--data <dir>", "where topics are stored", "./data")
    .option("--memory", "keep everything in memory (nothing survives a restart)")
    .option(
      "--fsync <policy>",
      'when to force data to disk: "always", "never" or an interval in ms',
      parseFsync,
      "always",
    )
    .option("--default-partitions <n>", "partitions of auto-created topics", integer("--default-partitions", 1), 1)
    .option("--no-auto-create-topics", "refuse topics that were not created explicitly")
    .option("--retention-ms <ms>", "default retention.ms of topics", integer("--retention-ms", -1))
    .option("--segment-bytes <bytes>", "default segment.bytes of topics", integer("--segment-bytes", 14))
    .option(
      "--fetch-max-bytes <bytes>",
      "most bytes in one fetch response (default 8 MiB)",
      integer("--fetch-max-bytes", 1024),
    )
    .addOption(
      new Option("--log-level <level>", "log verbosity (logs go to stderr)").choices(LOG_LEVELS).default("warn"),
    )
    .action(async (options) => {
      const logger = createLogger({ level: options.logLevel, name: "brook" });
      const dataDir: string | null = options.memory ? null : resolve(options.data);
      if (options.fsync === "never" && dataDir !== null) {
        process.stderr.write(
          "brook: warning: --fsync never: acknowledged messages can be lost if the machine crashes or loses power.\n",
        );
      }
      const topicDefaults: Record<string, string> = {};
      if (options.retentionMs !== undefined) topicDefaults["retention.ms"] = String(options.retentionMs);
      if (options.segmentBytes !== undefined) topicDefaults["segment.bytes"] = String(options.segmentBytes);

      const startedAt = performance.now();
      let broker: Broker;
      try {
        broker = await Broker.start({
          host: options.host,
          port: options.port,
          advertisedHost: options.advertisedHost,
          advertisedPort: options.advertisedPort,
          dataDir,
          fsync: options.fsync,
          autoCreateTopics: options.autoCreateTopics,
          defaultPartitions: options.defaultPartitions,
          fetchMaxBytes: options.fetchMaxBytes,
          topicDefaults,
          logger,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") {
          throw new UserError(`port ${options.port} on ${options.host} is already in use (is another broker running?)`);
        }
        if (code === "EACCES" || code === "EPERM") {
          throw new UserError(`permission denied: cannot use ${dataDir ?? "the port"} (${(error as Error).message})`);
        }
        throw error;
      }
      const ms = Math.round(performance.now() - startedAt);
      const bound = broker.listenAddress;
      const listening = `${bound.host}:${bound.port}`;
      const advertised = listening === broker.bootstrap ? "" : `, advertised as ${broker.bootstrap}`;
      process.stdout.write(
        `brook broker listening on ${listening}${advertised} (started in ${ms} ms)\n` +
          `data: ${dataDir ?? "in memory"}${dataDir ? `, fsync ${describeFsync(options.fsync)}` : ""}\n`,
      );

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`${signal}: stopping...\n`);
        broker.close().then(
          () => {
            process.stdout.write("stopped\n");
            process.exit(0);
          },
          (error: Error) => {
            process.stderr.write(`brook: error while stopping: ${error.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
    });
}

function describeFsync(policy: FsyncPolicy): string {
  return typeof policy === "string" ? policy : `every ${policy.intervalMs} ms`;
}
