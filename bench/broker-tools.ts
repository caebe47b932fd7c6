// Finds the external programs the broker benchmark drives: the librdkafka-based load generator
// (kafka-bench) and librdkafka's mock cluster, both kept as C sources in ../shared/tools, and
// kcat, the fallback load generator every CI machine has.
import { spawnSync } from "node:child_process";
import { accessSync, constants, cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, from dist/bench/ (compiled) where this module runs. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Where the sibling checkout of shared tools lives, if there is one. */
const SHARED_TOOLS = join(REPO_ROOT, "..", "shared", "tools");
/** Builds land here: the shared directory may be read-only, and nothing is built inside the repository. */
const BUILD_CACHE = join(tmpdir(), "brook-bench-tools");

export type ToolLookup = { found: true; path: string; how: string } | { found: false; why: string };

interface SharedTool {
  /** Directory under ../shared/tools holding the sources and build.sh. */
  directory: string;
  binary: string;
  envVariable: string;
}

export const KAFKA_BENCH: SharedTool = { directory: "kafka-bench", binary: "kafka-bench", envVariable: "KAFKA_BENCH" };
export const MOCK_CLUSTER: SharedTool = {
  directory: "kafka-mock-cluster",
  binary: "mock-cluster",
  envVariable: "MOCK_CLUSTER",
};

/**
 * An explicit path (command line, then environment) wins; otherwise the binary built next to
 * its sources in ../shared/tools; otherwise those sources are built (with their own build.sh)
 * into a cache directory, once — they need a C compiler and Debian's librdkafka-dev.
 */
export function findSharedTool(tool: SharedTool, explicitPath: string | undefined): ToolLookup {
  const requested = explicitPath ?? process.env[tool.envVariable];
  if (requested) {
    return isExecutable(requested)
      ? { found: true, path: requested, how: "as given" }
      : { found: false, why: `${requested} is not an executable file` };
  }
  const sourceDirectory = join(SHARED_TOOLS, tool.directory);
  const besideSources = join(sourceDirectory, tool.binary);
  if (isExecutable(besideSources)) return { found: true, path: besideSources, how: "prebuilt in ../shared" };
  if (!existsSync(join(sourceDirectory, "build.sh"))) return { found: false, why: `${sourceDirectory} does not exist` };

  const buildDirectory = join(BUILD_CACHE, tool.directory);
  const built = join(buildDirectory, tool.binary);
  if (isExecutable(built) && !sourcesNewerThan(sourceDirectory, built)) {
    return { found: true, path: built, how: `built earlier from ../shared into ${buildDirectory}` };
  }
  mkdirSync(BUILD_CACHE, { recursive: true });
  cpSync(sourceDirectory, buildDirectory, { recursive: true, force: true });
  const build = spawnSync("sh", [join(buildDirectory, "build.sh")], { encoding: "utf8" });
  if (build.status !== 0 || !isExecutable(built)) {
    const output = `${build.stderr ?? ""}${build.stdout ?? ""}`.trim().split("\n").slice(-3).join(" / ");
    return { found: false, why: `building ${tool.directory} failed (needs cc and librdkafka-dev): ${output}` };
  }
  return { found: true, path: built, how: `built from ../shared into ${buildDirectory}` };
}

/** kcat (or its old name kafkacat) on the PATH. */
export function findKcat(): ToolLookup {
  for (const name of ["kcat", "kafkacat"]) {
    for (const directory of (process.env.PATH ?? "").split(delimiter)) {
      const path = join(directory, name);
      if (directory && isExecutable(path)) return { found: true, path, how: "on the PATH" };
    }
  }
  return { found: false, why: "neither kcat nor kafkacat is on the PATH (Debian: apt-get install kcat)" };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function sourcesNewerThan(sourceDirectory: string, binary: string): boolean {
  const builtAt = statSync(binary).mtimeMs;
  return readdirSync(sourceDirectory).some((name) => statSync(join(sourceDirectory, name)).mtimeMs > builtAt);
}
