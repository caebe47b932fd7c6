// The client benchmarks' report: one row per client measured in the run, ratios against kafkajs
// and @platformatic/kafka from that same run, and issue 5's goals judged pass or FAIL for every
// brook row. Ratios within one run are what count: the machine's load moves all rows alike.
import { type Column, formatBytes, printTable, significant } from "./table.js";

export type Library = "brook" | "kafkajs" | "platformatic";

export interface ClientRow {
  /** What the row measured, e.g. "brook iterator". */
  name: string;
  library: Library;
  /** Wall time of the measured part; absent when the client did not run (`skipped` says why). */
  ms?: number;
  /** CPU time of the client's process (all its threads) during the measured part. */
  cpuMs?: number;
  /** Peak resident set size of the client's process, in bytes. */
  maxRss?: number;
  skipped?: string;
  /** Cells of the benchmark's own extra columns, in their order. */
  extra?: readonly string[];
}

/** Issue 5: brook at least this many times the other client's msgs/s. */
const SPEED_GOALS: readonly { library: Library; label: string; atLeast: number }[] = [
  { library: "kafkajs", label: "kafkajs", atLeast: 2 },
  { library: "platformatic", label: "platformatic", atLeast: 1.2 },
];

type Ran = ClientRow & { ms: number; maxRss: number };

function ran(row: ClientRow | undefined): row is Ran {
  return row?.ms !== undefined && row.maxRss !== undefined;
}

const verdict = (ok: boolean) => (ok ? "pass" : "FAIL");

/** Prints the results table, then the goals table; returns how many goals failed. */
export function printClientReport(messages: number, size: number, rows: readonly ClientRow[], extra: Column[]): number {
  const reference = (library: Library) => rows.find((row) => row.library === library);
  const ratio = (row: ClientRow, library: Library) => {
    const other = reference(library);
    if (!ran(row) || !ran(other)) return "n/a";
    return `${significant(other.ms / row.ms)}×`;
  };
  const columns: Column[] = [
    { title: "client" },
    { title: "msgs/s", align: "right" },
    { title: "MB/s", align: "right" },
    { title: "CPU µs/msg", align: "right" },
    { title: "peak RSS", align: "right" },
    ...extra,
    { title: "vs kafkajs", align: "right" },
    { title: "vs platformatic", align: "right" },
  ];
  printTable(
    columns,
    rows.map((row) =>
      ran(row)
        ? [
            row.name,
            significant((messages / row.ms) * 1000),
            significant(((messages * size) / row.ms / 1e6) * 1000),
            row.cpuMs === undefined ? "" : significant((row.cpuMs * 1000) / messages),
            formatBytes(row.maxRss),
            ...(row.extra ?? []),
            ratio(row, "kafkajs"),
            ratio(row, "platformatic"),
          ]
        : [row.name, row.skipped ?? "did not run"],
    ),
  );

  const brookRows = rows.filter((row): row is Ran => row.library === "brook" && ran(row));
  const goals: string[][] = [];
  let failed = 0;
  for (const goal of SPEED_GOALS) {
    const other = reference(goal.library);
    goals.push([
      `msgs/s ≥ ${goal.atLeast}× ${goal.label}`,
      ...brookRows.map((row) => {
        if (!ran(other)) return `n/a (${other?.skipped ?? "did not run"})`;
        const times = other.ms / row.ms;
        if (times < goal.atLeast) failed++;
        return `${significant(times)}× ${verdict(times >= goal.atLeast)}`;
      }),
    ]);
  }
  for (const goal of SPEED_GOALS) {
    const other = reference(goal.library);
    goals.push([
      `peak RSS < ${goal.label}`,
      ...brookRows.map((row) => {
        if (!ran(other)) return `n/a (${other?.skipped ?? "did not run"})`;
        if (row.maxRss >= other.maxRss) failed++;
        return `${formatBytes(row.maxRss)} vs ${formatBytes(other.maxRss)} ${verdict(row.maxRss < other.maxRss)}`;
      }),
    ]);
  }
  process.stdout.write("\nGoals (issue 5), from this run:\n\n");
  printTable([{ title: "goal" }, ...brookRows.map((row) => ({ title: row.name }))], goals);
  process.stdout.write(`\n${failed === 0 ? "all goals pass" : `${failed} goal(s) FAIL`}\n`);
  return failed;
}
