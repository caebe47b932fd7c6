#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { BrookError } from "../client/errors.js";
import { UserError } from "./user-error.js";

const program = new Command("brook")
  .description("brook: a Kafka-compatible event streaming platform")
  .version(packageVersion())
  .exitOverride()
  // Commander's own complaints (unknown option, bad value) as the one line every error is.
  .configureOutput({
    outputError: (message, write) => write(`brook: ${message.replace(/^error: /, "").trimEnd()} (see --help)\n`),
  });

/**
 * Each command's module, in the order help lists them. Only the module of the command being run
 * is loaded (all of them for help): `brook start` starts faster without the client's modules,
 * and the client commands without the broker's.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  start: async () => (await import("./start.js")).startCommand,
  topic: async () => (await import("./topic.js")).topicCommand,
  produce: async () => (await import("./produce.js")).produceCommand,
  consume: async () => (await import("./consume.js")).consumeCommand,
  group: async () => (await import("./group.js")).groupCommand,
};
const invoked = process.argv[2];
const loaders =
  invoked !== undefined && Object.hasOwn(COMMANDS, invoked) ? [COMMANDS[invoked]!] : Object.values(COMMANDS);
for (const register of await Promise.all(loaders.map((load) => load()))) register(program);

/** Exit codes scripts can rely on: 0 done, 1 the user's mistake or a failure the cluster reported, 70 a bug. */
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // InvalidArgumentError is a CommanderError, but one thrown by an action has not been printed.
  if (error instanceof UserError || error instanceof InvalidArgumentError) {
    process.stderr.write(`brook: ${error.message}\n`);
    process.exitCode = 1;
  } else if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version text).
    process.exitCode = error.exitCode;
  } else if (error instanceof BrookError) {
    process.stderr.write(`brook: ${describeClientError(error)}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`brook: unexpected error: ${(error as Error).message ?? String(error)}\n`);
    process.exitCode = 70;
  }
}

/**
 * The version in brook's package.json: the nearest one above this file, which runs from
 * dist/bin/ (the bundled binary) or dist/src/cli/ (the compiled sources).
 */
function packageVersion(): string {
  for (let directory = new URL(".", import.meta.url); ; directory = new URL("..", directory)) {
    try {
      return (JSON.parse(readFileSync(new URL("package.json", directory), "utf8")) as { version: string }).version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || directory.pathname === "/") throw error;
    }
  }
}

/** A client failure as one sentence a user can act on. */
function describeClientError(error: BrookError): string {
  switch (error.code) {
    case "BROOK_CONNECTION_FAILED":
    case "BROOK_CONNECT_TIMEOUT":
    case "BROOK_CONNECTION_CLOSED":
      return `cannot reach the cluster: ${error.message} (is a broker running? --brokers or BROOK_BROKERS says where).`;
    case "BROOK_TIMEOUT":
    case "BROOK_REQUEST_TIMEOUT":
      return `the cluster did not answer in time: ${error.message}.`;
    default:
      return `${error.message}.`;
  }
}
