import type { Command } from "commander";

export function produceCommand(_program: Command): void {}
