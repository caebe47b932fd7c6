// Runs the real `brook start` binary as a child process, as users run it, for interop tests
// with third-party clients. Each broker gets a free port and its own data directory.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../bin/brook.js", import.meta.url));

export interface BrokerProcess {
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** What the broker wrote to stderr so far (its log lines), for assertions and failure reports. */
  stderr(): string;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to flush anything. */
  kill(): Promise<void>;
  /** Stops (if running) and removes the data directory. */
  destroy(): Promise<void>;
}

export interface BrokerProcessOptions {
  /** Reuse a data directory (a restart); default a new temporary one. */
  dataDir?: string;
  /** Reuse a port (a restart keeps the address clients know); default a free one. */
  port?: number;
  /** Extra `brook start` arguments, e.g. ["--fsync", "always"]. */
  args?: string[];
}

export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "brook-interop-"));
  const child = spawn(
    process.execPath,
    [CLI, "start", "--port", String(options.port ?? 0), "--data", dataDir, ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stdout += chunk;
      const match = /listening on ([\d.]+):(\d+)/.exec(stdout);
      if (match) {
        child.stdout?.off("data", onData);
        resolve({ host: match[1] as string, port: Number(match[2]) });
      }
    };
    child.stdout?.on("data", onData);
    exited.then((code) => reject(new Error(`brook start exited with ${code}: ${stderr}`)));
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.resume();
  let stopped = false;
  const broker: BrokerProcess = {
    bootstrap: `${address.host}:${address.port}`,
    host: address.host,
    port: address.port,
    dataDir,
    child,
    stderr: () => stderr,
    async stop() {
      if (stopped) return exited;
      stopped = true;
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGKILL");
      await exited;
    },
    async destroy() {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return broker;
}
