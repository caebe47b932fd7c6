import type { Command } from "commander";

export function groupCommand(_program: Command): void {}
