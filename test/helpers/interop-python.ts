// Debian's Python Kafka clients (confluent-kafka 1.7.0 over librdkafka 2.0.2, kafka-python 2.0.2),
// driven through the small scripts in test/interop/python.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ConsumedMessage, Message } from "./interop-messages.js";
import { runProgram } from "./interop-process.js";

/** Debian's interpreter: the packages import only there, not in a pyenv `python3` earlier on PATH. */
export const PYTHON = "/usr/bin/python3";

export interface PythonClient {
  name: string;
  /** The Python module the script needs. */
  module: string;
  script: string;
}

// Scripts are not compiled: from dist/test/helpers, climb back to the sources.
const scriptsDir = fileURLToPath(new URL("../../../test/interop/python/", import.meta.url));

export const CONFLUENT_KAFKA: PythonClient = {
  name: "confluent-kafka",
  module: "confluent_kafka",
  script: `${scriptsDir}confluent_client.py`,
};
export const KAFKA_PYTHON: PythonClient = {
  name: "kafka-python",
  module: "kafka",
  script: `${scriptsDir}kafka_python_client.py`,
};

export function hasPythonModule(module: string): boolean {
  return spawnSync(PYTHON, ["-c", `import ${module}`], { stdio: "ignore" }).status === 0;
}

export interface Acknowledgement {
  key: string;
  partition: number;
  offset: number;
}

/** Produces the messages in order; resolves with one acknowledgement per message once all are in. */
export async function pythonProduce(
  client: PythonClient,
  bootstrap: string,
  topic: string,
  messages: readonly Message[],
): Promise<Acknowledgement[]> {
  const input = messages.map((m) => `${JSON.stringify(m)}\n`).join("");
  const { stdout } = await runProgram(PYTHON, [client.script, "produce", bootstrap, topic], {
    input,
    timeoutMs: 45_000,
  });
  return parseLines<Acknowledgement>(stdout);
}

/** Joins a new group on the topic and reads until `count` messages arrived. */
export async function pythonConsume(
  client: PythonClient,
  bootstrap: string,
  topic: string,
  group: string,
  count: number,
): Promise<ConsumedMessage[]> {
  const { stdout } = await runProgram(PYTHON, [client.script, "consume", bootstrap, topic, group, String(count)], {
    timeoutMs: 45_000,
  });
  return parseLines<ConsumedMessage>(stdout);
}

function parseLines<T>(output: string): T[] {
  return output
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);
}
