import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { type Logger, pino } from "pino";

/** A fresh directory under one temporary root per test file, removed when the file's tests end. */
export function temporaryDirectories(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), `brook-${prefix}-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return () => join(root, `d${count++}`);
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger that keeps its lines (`level` and above, warn by default) for the test to inspect. */
export function capturingLogger(level = "warn"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
