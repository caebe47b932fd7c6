#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { startCommand } from "./start.js";
import { UserError } from "./user-error.js";

const program = new Command("brook")
  .description("brook: a Kafka-compatible event streaming platform")
  .version(process.env.npm_package_version ?? "0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

startCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version text).
    process.exitCode = error.exitCode;
  } else if (error instanceof UserError || error instanceof InvalidArgumentError) {
    process.stderr.write(`brook: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`brook: unexpected error: ${(error as Error).message ?? String(error)}\n`);
    process.exitCode = 70;
  }
}
