// How long the embedded test broker takes from startBroker() to accepting connections, against a
// bare TCP server started the same way as the reference. Goal: under 50 ms.
//   npx tsc -p . && node dist/bench/embedded.js
import { createServer } from "node:net";
import { startBroker } from "../src/testing/index.js";
import { printTable, significant } from "./table.js";

const ROUNDS = 25;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function timeBareServer(): Promise<number> {
  const started = performance.now();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const elapsed = performance.now() - started;
  await new Promise((resolve) => server.close(resolve));
  return elapsed;
}

async function timeBroker(storage: "memory" | "disk"): Promise<number> {
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

const bare = await measure(timeBareServer);
const memory = await measure(() => timeBroker("memory"));
const disk = await measure(() => timeBroker("disk"));
process.stdout.write(
  `embedded broker start-up, median of ${ROUNDS} starts after one warm-up (node ${process.version})\n`,
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
    [
      "startBroker() in memory",
      significant(memory),
      significant(memory / bare),
      memory < 50 ? "< 50 ms: met" : "< 50 ms: MISSED",
    ],
    [
      "startBroker({ storage: 'disk' })",
      significant(disk),
      significant(disk / bare),
      disk < 50 ? "< 50 ms: met" : "< 50 ms: MISSED",
    ],
  ],
);
