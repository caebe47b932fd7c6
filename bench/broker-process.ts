// The processes a broker benchmark measures: brook itself, run as users run it (`brook start`),
// and librdkafka's mock cluster as the reference.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

const BROOK_CLI = fileURLToPath(new URL("../bin/brook.js", import.meta.url));
const STOP_TIMEOUT_MS = 30_000;

export type FsyncMode = "never" | "always";

export interface RunningProcess {
  readonly pid: number;
  readonly bootstrap: string;
  /** SIGTERM, then SIGKILL if it has not exited after a while. */
  stop(): Promise<void>;
}

export interface BrookProcess extends RunningProcess {
  /** From spawning the process to its first accepted TCP connection. */
  readonly startupMs: number;
}

export interface BrookOptions {
  dataDir: string;
  fsync: FsyncMode;
  /** More `brook start` arguments. */
  args?: string[];
  /** Writes a V8 CPU profile (.cpuprofile) of the broker into this directory when it stops. */
  cpuProfileDirectory?: string;
}

export async function startBrook(options: BrookOptions): Promise<BrookProcess> {
  const nodeArgs = options.cpuProfileDirectory ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDirectory] : [];
  const args = [
    ...nodeArgs,
    BROOK_CLI,
    "start",
    "--port",
    "0",
    "--data",
    options.dataDir,
    "--fsync",
    options.fsync,
    ...(options.args ?? []),
  ];
  const spawnedAt = performance.now();
  const child = spawnTracked(process.execPath, args);
  const bootstrap = await firstMatch(child, /listening on (\S+:\d+)/, "brook start");
  await acceptsConnection(bootstrap);
  const startupMs = performance.now() - spawnedAt;
  return { ...supervise(child, bootstrap), startupMs };
}

/** Starts the mock cluster (one broker) with the given topics created up front. */
export async function startMockCluster(
  binary: string,
  topics: readonly { name: string; partitions: number }[],
): Promise<RunningProcess> {
  const args = ["-b", "1", ...topics.map((t) => `${t.name}:${t.partitions}`)];
  const child = spawnTracked(binary, args);
  // It prints its bootstrap servers as the first line.
  const bootstrap = await firstMatch(child, /^(\S+:\d+)$/m, "mock-cluster");
  return supervise(child, bootstrap);
}

/** Resident set size of a process in bytes (Linux /proc), undefined where that is not available. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Every process started here and not yet exited, so that none outlives the benchmark. */
const running = new Set<ChildProcess>();
process.once("exit", killAll);

/** SIGKILL to every process started here that is still running: for a benchmark that gives up. */
export function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
}

function spawnTracked(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

function supervise(child: ChildProcess, bootstrap: string): RunningProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  // Keep reading both pipes so that the child never blocks writing to a full one.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    pid: child.pid!,
    bootstrap,
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Waits for `pattern` on the child's stdout and returns its first group; rejects if the child exits first. */
function firstMatch(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const onStdout = (chunk: Buffer) => {
      stdout += chunk;
      const match = pattern.exec(stdout);
      if (!match) return;
      child.stdout?.off("data", onStdout);
      child.stderr?.off("data", onStderr);
      child.off("exit", onExit);
      resolve(match[1]!);
    };
    const onStderr = (chunk: Buffer) => {
      stderr += chunk;
    };
    const onExit = (code: number | null) =>
      reject(new Error(`${what} exited (${code}) before it was ready: ${stderr}`));
    child.stdout?.on("data", onStdout);
    child.stderr?.on("data", onStderr);
    child.once("exit", onExit);
    child.once("error", reject);
  });
}

function acceptsConnection(bootstrap: string): Promise<void> {
  const [host, port] = splitAddress(bootstrap);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
