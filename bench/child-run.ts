import { execFileSync } from "node:child_process";

/**
 * Runs a benchmark script again as a child process with `args` (so that each client is measured
 * alone, peak RSS included) and returns the JSON object it prints on its last stdout line.
 */
export function runChild<T>(script: string, args: readonly string[]): T {
  const output = execFileSync(process.execPath, [script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(output.trim().split("\n").pop() as string) as T;
}
