// librdkafka's mock cluster (../shared/tools/kafka-mock-cluster): several brokers with partition
// leaders and group coordinators spread over them, for testing the client against a cluster.
// It is built once per test process into a temporary directory; building needs librdkafka-dev
// and a C compiler, so tests skip (or, with BROOK_REQUIRE_INTEROP=1, fail) without them.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const SOURCE_DIR =
  process.env.BROOK_MOCK_CLUSTER_DIR ?? join(projectRoot, "..", "shared", "tools", "kafka-mock-cluster");

let built: { binary: string | null; reason: string } | undefined;

/** The path of the built mock-cluster program, or null with the reason it could not be built. */
export function buildMockCluster(): { binary: string | null; reason: string } {
  if (built) return built;
  if (!existsSync(join(SOURCE_DIR, "build.sh"))) {
    built = { binary: null, reason: `no kafka-mock-cluster sources in ${SOURCE_DIR}` };
    return built;
  }
  const dir = mkdtempSync(join(tmpdir(), "brook-mock-cluster-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  for (const file of ["build.sh", "mock-cluster.c"]) copyFileSync(join(SOURCE_DIR, file), join(dir, file));
  const result = spawnSync("sh", [join(dir, "build.sh")], { encoding: "utf8" });
  built =
    result.status === 0
      ? { binary: join(dir, "mock-cluster"), reason: "" }
      : { binary: null, reason: `its build.sh failed: ${(result.stderr || String(result.error)).trim()}` };
  return built;
}

export interface MockCluster {
  /** "host:port,host:port,...", one per broker. */
  readonly bootstrap: string;
  stop(): Promise<void>;
}

/** Starts `brokers` mock brokers with topics created up front ("name:partitions"). */
export async function startMockCluster(binary: string, brokers: number, topics: string[]): Promise<MockCluster> {
  const child: ChildProcess = spawn(binary, ["-b", String(brokers), ...topics], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n")[0];
      if (stdout.includes("\n") && line) resolve(line.trim());
    });
    exited.then(() => reject(new Error(`mock-cluster exited early: ${stderr}`)));
  });
  return {
    bootstrap,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
