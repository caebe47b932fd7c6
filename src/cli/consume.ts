import type { Command } from "commander";

export function consumeCommand(_program: Command): void {}
