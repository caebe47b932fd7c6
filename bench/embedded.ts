// How long the embedded test broker takes from startBroker() to accepting connections, against a
// bare TCP server started the same way as the reference. Goal: under 50 ms.
//   npx tsc -p . && node dist/bench/embedded.js
// Warm starts are what every test after the first pays; a cold start is what a fresh test process
// (node --test runs each file in its own) pays once: loading brook/testing, then the first start.
// With BENCH_CPU_PROF=<dir> the cold-start children write V8 CPU profiles there.
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { printTable, significant } from "./table.js";

const ROUNDS = 25;
const COLD_ROUNDS = 7;
const COLD_FLAG = "--cold";

type Storage = "memory" | "disk";

interface ColdStart {
  /** From process start (performance.timeOrigin) to this script running: Node's own boot. */
  nodeBootMs: number;
  importMs: number;
  firstStartMs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** The child's side of a cold start: import the helper, start one broker, report the times. */
async function coldStartChild(storage: Storage): Promise<void> {
  const nodeBootMs = performance.now();
  const imported = performance.now();
  const { startBroker } = await import("../src/testing/index.js");
  const importMs = performance.now() - imported;
  const started = performance.now();
  const broker = await startBroker({ storage });
  const firstStartMs = performance.now() - started;
  await broker.stop();
  process.stdout.write(`${JSON.stringify({ nodeBootMs, importMs, firstStartMs } satisfies ColdStart)}\n`);
}

function coldStart(storage: Storage): ColdStart {
  const profileDirectory = process.env.BENCH_CPU_PROF;
  const nodeArgs = profileDirectory ? ["--cpu-prof", "--cpu-prof-dir", profileDirectory] : [];
  const script = fileURLToPath(import.meta.url);
  const output = execFileSync(process.execPath, [...nodeArgs, script, COLD_FLAG, storage], { encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").pop() as string) as ColdStart;
}

async function timeBareServer(): Promise<number> {
  const started = performance.now();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const elapsed = performance.now() - started;
  await new Promise((resolve) => server.close(resolve));
  return elapsed;
}

async function timeBroker(storage: Storage): Promise<number> {
  const { startBroker } = await import("../src/testing/index.js");
  const started = performance.now();
  const broker = await startBroker({ storage });
  const elapsed = performance.now() - started;
  await broker.stop();
  return elapsed;
}

async function measure(run: () => Promise<number>): Promise<number> {
  await run(); // warm-up: module loading and JIT are paid once per test process, not per broker
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await run());
  return median(samples);
}

function measureCold(storage: Storage): ColdStart {
  const samples = Array.from({ length: COLD_ROUNDS }, () => coldStart(storage));
  return {
    nodeBootMs: median(samples.map((s) => s.nodeBootMs)),
    importMs: median(samples.map((s) => s.importMs)),
    firstStartMs: median(samples.map((s) => s.firstStartMs)),
  };
}

const goal = (ms: number) => (ms < 50 ? "< 50 ms: met" : "< 50 ms: MISSED");

async function main(): Promise<void> {
  const bare = await measure(timeBareServer);
  const memory = await measure(() => timeBroker("memory"));
  const disk = await measure(() => timeBroker("disk"));
  const coldMemory = measureCold("memory");
  const coldDisk = measureCold("disk");
  process.stdout.write(
    `embedded broker start-up (node ${process.version}): warm = median of ${ROUNDS} starts after one warm-up; ` +
      `cold = median of ${COLD_ROUNDS} fresh processes\n`,
  );
  printTable(
    [
      { title: "what" },
      { title: "ms to ready", align: "right" },
      { title: "÷ bare TCP server", align: "right" },
      { title: "goal" },
    ],
    [
      ["bare net.Server listen (reference)", significant(bare), "1", ""],
      ["startBroker() in memory, warm", significant(memory), significant(memory / bare), goal(memory)],
      ["startBroker({ storage: 'disk' }), warm", significant(disk), significant(disk / bare), goal(disk)],
      ["import brook/testing, cold process", significant(coldMemory.importMs), "", ""],
      ["first startBroker() in memory, cold", significant(coldMemory.firstStartMs), "", goal(coldMemory.firstStartMs)],
      [
        "first startBroker({ storage: 'disk' }), cold",
        significant(coldDisk.firstStartMs),
        "",
        goal(coldDisk.firstStartMs),
      ],
      ["(Node's own boot, for scale)", significant(coldMemory.nodeBootMs), "", ""],
    ],
  );
}

if (process.argv[2] === COLD_FLAG) await coldStartChild(process.argv[3] === "disk" ? "disk" : "memory");
else await main();
