#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { BrookError } from "../client/errors.js";
import { consumeCommand } from "./consume.js";
import { groupCommand } from "./group.js";
import { produceCommand } from "./produce.js";
import { startCommand } from "./start.js";
import { topicCommand } from "./topic.js";
import { UserError } from "./user-error.js";

const program = new Command("brook")
  .description("brook: a Kafka-compatible event streaming platform")
  .version(packageVersion())
  .exitOverride()
  // Commander's own complaints (unknown option, bad value) as the one line every error is.
  .configureOutput({
    outputError: (message, write) => write(`brook: ${message.replace(/^error: /, "").trimEnd()} (see --help)\n`),
  });

startCommand(program);
topicCommand(program);
produceCommand(program);
consumeCommand(program);
groupCommand(program);

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

/** The version in package.json (this file runs from dist/src/cli/). */
function packageVersion(): string {
  const manifest = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
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
