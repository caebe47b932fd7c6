import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";

/**
 * Some tests need programs that `npm install` cannot provide (kcat, Debian's Python clients,
 * the Kafka specs beside the project). On a developer's machine such a test says it is skipped
 * and why; CI sets BROOK_REQUIRE_INTEROP=1 and installs them, so there a missing program fails.
 */
export function skipUnless(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env.BROOK_REQUIRE_INTEROP === "1") {
    throw new Error(`${what} is required (BROOK_REQUIRE_INTEROP=1) but not available`);
  }
  t.skip(`${what} is not available: install it to run this test (.ci/run does)`);
  return false;
}

export function hasProgram(command: string, args: string[] = ["-V"]): boolean {
  const result = spawnSync(command, args, { stdio: "ignore" });
  return result.error === undefined;
}

export const hasFile = (path: string) => existsSync(path);
