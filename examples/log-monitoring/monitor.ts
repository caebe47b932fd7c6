// A monitoring consumer: counts log lines per service and level, and raises an alert when a
// service logs more than --threshold errors within --window seconds (of the lines' timestamps).
import { parseArgs } from "node:util";
import { Consumer } from "brook";
import { countLine, createLogsTopic, formatCounts, type LevelCounts, LOGS_TOPIC, type LogLine } from "./log-events.js";

const { values: options } = parseArgs({
  options: {
    brokers: { type: "string", default: process.env.BROOK_BROKERS ?? "127.0.0.1:9092" },
    threshold: { type: "string", default: "5" },
    window: { type: "string", default: "10" },
    every: { type: "string", default: "100" }, // print the counts after this many lines
  },
});
const threshold = Number(options.threshold);
const windowMs = Number(options.window) * 1000;
const every = Number(options.every);

await createLogsTopic(options.brokers);
const consumer = new Consumer<LogLine | null, string>({
  brokers: options.brokers,
  groupId: "monitor",
  keyDeserializer: "string",
  valueDeserializer: "json",
  autoOffsetReset: "earliest",
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void consumer.close());
await consumer.subscribe({ topics: [LOGS_TOPIC] });

const counts: LevelCounts = new Map();
const recentErrors = new Map<string, number[]>(); // per service, timestamps of errors in the window
const alertedAt = new Map<string, number>();
let seen = 0;

// Lines are keyed by service, so one service's lines arrive in order and its window only moves forward.
for await (const { value: line, timestamp } of consumer) {
  if (line === null) continue;
  countLine(counts, line);
  if (++seen % every === 0) console.log(`monitor: ${seen} lines: ${formatCounts(counts)}`);
  if (line.level !== "error") continue;

  const errors = (recentErrors.get(line.service) ?? []).filter((at) => at > timestamp - windowMs);
  errors.push(timestamp);
  recentErrors.set(line.service, errors);
  // One alert per window per service, not one per error.
  if (errors.length > threshold && timestamp - (alertedAt.get(line.service) ?? -Infinity) >= windowMs) {
    alertedAt.set(line.service, timestamp);
    console.log(`monitor: ALERT ${line.service} logged ${errors.length} errors in ${options.window} s`);
  }
}
await consumer.close(); // the loop ended because close() began; wait until it is done
console.log(`monitor: stopped after ${seen} lines: ${formatCounts(counts)}`);
