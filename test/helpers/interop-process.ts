// Runs a third-party program (kcat, a Python client script) to completion for interop tests.
import { spawn } from "node:child_process";

export interface ProgramResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  /** The program is killed and the run fails after this long; default 30 s. */
  timeoutMs?: number;
}

/** Resolves with the program's output once it exits with status 0; rejects otherwise, with its stderr. */
export function runProgram(command: string, args: string[], options: RunOptions = {}): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const result = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (code === 0) {
        resolve(result);
        return;
      }
      const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new Error(`${command} ${args.join(" ")} ${why}\n${result.stderr}`));
    });
    // A program that exits before reading all of its input breaks the pipe; its exit status tells why.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}
