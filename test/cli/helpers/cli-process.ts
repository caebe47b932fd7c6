// Runs the real `brook` binary as a long-lived process (`brook consume --follow`), for tests that
// watch its output as it comes and then stop it with a signal, as a user's Ctrl-C would.
import { type ChildProcess, spawn } from "node:child_process";
import { CLI, type CliResult } from "./run-cli.js";

export interface CliProcess {
  /** Its stdin stays open until the test ends it (`child.stdin.end()`) or the process exits. */
  readonly child: ChildProcess;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout satisfies `condition`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(condition: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the process to exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  if (!env.BROOK_BROKERS) delete fullEnv.BROOK_BROKERS;
  delete fullEnv.FORCE_COLOR;
  const child = spawn(process.execPath, [CLI, ...args], { env: fullEnv, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin?.on("error", () => {}); // a process that exits before reading what was written
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    changed();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<CliResult>((resolve) => {
    child.once("close", (code) => {
      exitCode = code;
      changed();
      resolve({ code, stdout, stderr });
    });
  });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput(condition, what, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`timed out waiting for ${what}; stdout: ${stdout}`)),
          timeoutMs,
        );
        const check = () => {
          if (condition(stdout)) finish();
          else if (exitCode !== undefined) {
            finish(new Error(`brook exited (${exitCode}) before ${what}; stderr: ${stderr}`));
          }
        };
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGINT", timeoutMs = 20_000) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
