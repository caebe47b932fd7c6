import type { Command } from "commander";

export function topicCommand(_program: Command): void {}
