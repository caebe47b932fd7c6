// Runs the real `brook` binary (dist/bin/brook.js) as a user would, and collects what it printed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../../bin/brook.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to the command's stdin, which is then closed; default: stdin closed at once. */
  input?: string | Buffer;
  /** Added to the environment (BROOK_BROKERS is removed unless given here). */
  env?: Record<string, string>;
  /** Kill the command after this long (it then fails the test); default 30 s. */
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...options.env };
  if (!options.env?.BROOK_BROKERS) delete env.BROOK_BROKERS;
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on("error", () => {}); // a command that exits before reading all its input
  child.stdin.end(options.input ?? "");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL")
        reject(new Error(`brook ${args.join(" ")} did not finish in ${timeoutMs} ms: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A failed command: exit code 1 and exactly one line on stderr, `brook: ` and the sentence (or matching it). */
export function assertOneSentence(result: CliResult, sentence: string | RegExp): void {
  assert.equal(result.code, 1, `exit code of a failure; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, not: ${result.stderr}`);
  assert.match(lines[0] as string, /^brook: /);
  if (typeof sentence === "string") assert.equal(lines[0], `brook: ${sentence}`);
  else assert.match(lines[0] as string, sentence);
}

/** The rows of a printed table (header excluded), each split into its cells. */
export function tableRows(table: string): string[][] {
  return table
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s{2,}/));
}
