// A log shipper: services' log lines go to the `logs` topic, keyed by service.
// `--failing payments` makes one service log nothing but errors, to set off the monitor's alert.
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Producer } from "brook";
import { countLine, createLogsTopic, formatCounts, type LevelCounts, LOGS_TOPIC, type LogLine } from "./log-events.js";

const { values: options } = parseArgs({
  options: {
    brokers: { type: "string", default: process.env.BROOK_BROKERS ?? "127.0.0.1:9092" },
    lines: { type: "string", default: "0" }, // how many lines to ship; 0: until stopped
    rate: { type: "string", default: "20" }, // lines per second (at most)
    failing: { type: "string" }, // a service that logs only errors
  },
});
const lines = Number(options.lines);
const rate = Number(options.rate);
const SERVICES = ["checkout", "payments", "search"];

await createLogsTopic(options.brokers);
const producer = new Producer<LogLine, string>({
  brokers: options.brokers,
  keySerializer: "string",
  valueSerializer: "json",
});
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => (stopping = true));

function nextLine(): LogLine {
  const service = SERVICES[Math.floor(Math.random() * SERVICES.length)];
  if (service === options.failing) return { level: "error", service, message: "upstream timed out" };
  const roll = Math.random();
  if (roll < 0.02) return { level: "error", service, message: "request failed" };
  if (roll < 0.1) return { level: "warn", service, message: "slow response" };
  return { level: "info", service, message: "request served" };
}

const shipped: LevelCounts = new Map();
let sent = 0;
while ((lines === 0 || sent < lines) && !stopping) {
  const line = nextLine();
  await producer.send({ topic: LOGS_TOPIC, messages: [{ key: line.service, value: line }] });
  countLine(shipped, line);
  sent++;
  await sleep(1000 / rate);
  if (sent % 100 === 0) console.log(`log-shipper: ${sent} lines`);
}

await producer.close();
console.log(`log-shipper: shipped ${sent} lines: ${formatCounts(shipped)}`);
