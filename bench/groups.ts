// Consumer-group benchmark against a real brook process (`brook start`, as users run it), driven
// by raw protocol members (the project's Connection and codecs) that act the moment an answer
// arrives, so what is measured is the coordinator and the network, not a client's timers.
//
//  - Forming: 10 new members join a group (each first gets its id, KIP-394, as librdkafka does)
//    until all 10 hold assignments of one Stable generation. Goal: under 100 ms.
//  - Takeover: one member of a Stable group of 10 leaves cleanly; the other 9 learn it at their
//    next heartbeat (sent at once here) and rejoin. Goal: one rebalance round, under 100 ms.
//  - Load: 1,000 groups of 3 members, each member on its own connection heartbeating every
//    second, against one broker; its CPU is read from /proc/<pid>/stat. Goal: under 20%.
//
//   npm run bench:groups          (BENCH_GROUPS=100 BENCH_SECONDS=5 for a quick run)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ErrorCode, errorName } from "../src/protocol/errors.js";
import { type BrokerProcess, startBrokerProcess } from "../test/helpers/broker-process.js";
import { dealPartitions, formGroup, GroupAdmin, RawGroupMember } from "../test/helpers/interop-groups-raw.js";
import { type Column, printTable, significant } from "./table.js";

const TOPIC = "bench-groups";
const PARTITIONS = 10;
const GROUP_SIZE = 10;
const RUNS = 20;
const LOAD_GROUPS = Number(process.env.BENCH_GROUPS ?? 1000);
const LOAD_GROUP_SIZE = 3;
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const HEARTBEAT_INTERVAL_MS = 1000;
/** How often a member that waits for the others heartbeats: the only client delay left in the timings. */
const WAITING_HEARTBEAT_MS = 1;

const assign = (members: readonly { memberId: string }[]) => dealPartitions(members, TOPIC, PARTITIONS);

async function members(broker: BrokerProcess, groupId: string, count: number): Promise<RawGroupMember[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      RawGroupMember.connect(broker, { groupId, clientId: `${groupId}-${i}`, topics: [TOPIC] }),
    ),
  );
}

async function closeAll(group: readonly RawGroupMember[]): Promise<void> {
  await Promise.all(group.map((m) => m.close()));
}

interface Timing {
  ms: number;
  /** Rebalance rounds the coordinator ran (generations it went through). */
  rounds: number;
}

/** Connections are opened first (untimed); timed from the first JoinGroup to the last assignment. */
async function timeForming(broker: BrokerProcess, run: number): Promise<Timing> {
  const group = await members(broker, `forming-${run}`, GROUP_SIZE);
  const started = performance.now();
  const generation = await formGroup(group, { assign, heartbeatMs: WAITING_HEARTBEAT_MS });
  const ms = performance.now() - started;
  await closeAll(group);
  return { ms, rounds: generation };
}

/** Timed from the LeaveGroup to the moment the other members hold their new assignments. */
async function timeTakeover(broker: BrokerProcess, run: number): Promise<Timing> {
  const group = await members(broker, `takeover-${run}`, GROUP_SIZE);
  const before = await formGroup(group, { assign, heartbeatMs: WAITING_HEARTBEAT_MS });
  const [leaving, ...staying] = group as [RawGroupMember, ...RawGroupMember[]];
  const started = performance.now();
  const left = await leaving.leave();
  if (left !== ErrorCode.NONE) throw new Error(`LeaveGroup: ${errorName(left)}`);
  const after = await formGroup(staying, {
    assign,
    heartbeatMs: WAITING_HEARTBEAT_MS,
    startWithHeartbeat: true,
    afterGeneration: before,
  });
  const ms = performance.now() - started;
  await closeAll(group);
  return { ms, rounds: after - before };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarize(timings: readonly Timing[]): { median: number; max: number; rounds: string } {
  const ms = timings.map((t) => t.ms).sort((a, b) => a - b);
  const rounds = new Map<number, number>();
  for (const { rounds: n } of timings) rounds.set(n, (rounds.get(n) ?? 0) + 1);
  const described = [...rounds]
    .sort(([a], [b]) => a - b)
    .map(([n, runs]) => `${n} in ${runs}/${timings.length} runs`)
    .join(", ");
  return { median: quantile(ms, 0.5), max: ms.at(-1)!, rounds: described };
}

// ---- CPU of the broker process -------------------------------------------------------------

const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** User plus system CPU seconds the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function residentMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1]) / 1024;
}

/** The broker's CPU use over `seconds`, in percent of one core. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  return ((cpuSeconds(pid) - cpuBefore) / elapsed) * 100;
}

interface Load {
  cpu: number;
  heartbeatsPerSecond: number;
  errors: number;
  p99Ms: number;
  residentMiB: number;
}

/**
 * Forms the groups (a batch at a time, so forming does not starve heartbeats of earlier
 * groups), then every member heartbeats once a second at its own phase while the broker's
 * CPU is measured. Any answer but NONE counts as an error: a rebalance or an expired session.
 */
async function heartbeatLoad(broker: BrokerProcess): Promise<Load> {
  const groups: RawGroupMember[][] = [];
  for (let first = 0; first < LOAD_GROUPS; first += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, LOAD_GROUPS - first) }, (_, i) =>
        members(broker, `load-${first + i}`, LOAD_GROUP_SIZE),
      ),
    );
    await Promise.all(batch.map((group) => formGroup(group, { assign, heartbeatMs: 100 })));
    groups.push(...batch);
  }

  let heartbeats = 0;
  let errors = 0;
  const latencies: number[] = [];
  let measuring = false;
  const timers = groups.flat().map((member) => {
    const beat = () => {
      const sent = performance.now();
      member.heartbeat().then(
        (errorCode) => {
          if (!measuring) return;
          heartbeats += 1;
          latencies.push(performance.now() - sent);
          if (errorCode !== ErrorCode.NONE) errors += 1;
        },
        () => {
          errors += 1;
        },
      );
    };
    const phase = Math.random() * HEARTBEAT_INTERVAL_MS;
    let interval: NodeJS.Timeout | undefined;
    const start = setTimeout(() => {
      beat();
      interval = setInterval(beat, HEARTBEAT_INTERVAL_MS);
    }, phase);
    return () => {
      clearTimeout(start);
      clearInterval(interval);
    };
  });

  // One full interval first, so every member is heartbeating when the measurement starts.
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS));
  measuring = true;
  const cpu = await cpuPercent(broker.child.pid!, LOAD_SECONDS);
  measuring = false;
  const resident = residentMiB(broker.child.pid!);
  for (const stop of timers) stop();
  await Promise.all(groups.map(closeAll));
  latencies.sort((a, b) => a - b);
  return {
    cpu,
    heartbeatsPerSecond: heartbeats / LOAD_SECONDS,
    errors,
    p99Ms: quantile(latencies, 0.99),
    residentMiB: resident,
  };
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess();
  try {
    const admin = await GroupAdmin.connect(broker);
    await admin.createTopic(TOPIC, PARTITIONS);
    await admin.close();
    const idleCpu = await cpuPercent(broker.child.pid!, 2);

    // A few unmeasured rounds first, so the broker's code is compiled before it is timed.
    for (let run = 0; run < 3; run++) await timeForming(broker, -1 - run);
    const forming: Timing[] = [];
    for (let run = 0; run < RUNS; run++) forming.push(await timeForming(broker, run));
    const takeover: Timing[] = [];
    for (let run = 0; run < RUNS; run++) takeover.push(await timeTakeover(broker, run));
    const load = await heartbeatLoad(broker);

    const f = summarize(forming);
    const t = summarize(takeover);
    const columns: Column[] = [
      { title: "measurement" },
      { title: "median", align: "right" },
      { title: "max", align: "right" },
      { title: "goal" },
      { title: "notes" },
    ];
    printTable(columns, [
      [
        `${GROUP_SIZE} new members join until Stable (${RUNS} runs)`,
        `${significant(f.median)} ms`,
        `${significant(f.max)} ms`,
        "< 100 ms",
        `rounds: ${f.rounds}`,
      ],
      [
        `takeover after 1 of ${GROUP_SIZE} leaves cleanly (${RUNS} runs)`,
        `${significant(t.median)} ms`,
        `${significant(t.max)} ms`,
        "< 100 ms, 1 round",
        `rounds: ${t.rounds}`,
      ],
      [
        `${LOAD_GROUPS.toLocaleString("en-US")} groups × ${LOAD_GROUP_SIZE} members, heartbeat every ${HEARTBEAT_INTERVAL_MS / 1000} s: broker CPU over ${LOAD_SECONDS} s`,
        `${significant(load.cpu, 2)} %`,
        "",
        "< 20 %",
        `${significant(load.heartbeatsPerSecond)} heartbeats/s, ${load.errors} errors, ` +
          `p99 ${significant(load.p99Ms)} ms, broker RSS ${significant(load.residentMiB)} MiB`,
      ],
      ["idle broker CPU (reference, 2 s)", `${significant(idleCpu, 2)} %`, "", "", ""],
    ]);
    process.stdout.write(
      `\nnode ${process.version}, ${LOAD_GROUPS * LOAD_GROUP_SIZE + 1} connections at peak; ` +
        `members waiting for others heartbeat every ${WAITING_HEARTBEAT_MS} ms (their only delay in the timings)\n`,
    );
  } finally {
    await broker.destroy();
  }
}

await main();
