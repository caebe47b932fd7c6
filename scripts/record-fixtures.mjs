// Records the byte-exact protocol fixtures under test/fixtures/<client>/: real clients (kcat,
// i.e. librdkafka, and kafkajs) talk to a real brook broker through a recording proxy, and the
// first exchange of each api and version (for some apis the first that shows what the fixture
// is for, see WORTH_KEEPING) is written as `<api>-v<version>-<request|response>.bin`, each frame
// exactly as on the wire, size prefix included, with an index.json saying what each file is.
//
// Run by hand, never by the tests (they only read the files): needs kcat on PATH and a build.
//   npx tsc -p . && node scripts/record-fixtures.mjs
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { codecForKey, decodeRequestFrame, decodeResponseFrame } from "../dist/src/protocol/frames.js";
import { startRecordingProxy } from "../dist/test/helpers/recording-proxy.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const fixturesDir = join(projectRoot, "test", "fixtures");
const cli = join(projectRoot, "dist", "src", "cli", "main.js");
const TOPIC = "brook-fixtures";
const CLIENT_TIMEOUT_MS = 30_000;

// What each client is told to produce. The index repeats it so the fixture tests can check
// that the recorded Produce request decodes to exactly these records.
const KCAT_HEADERS = [
  ["trace-id", "kcat-trace"],
  ["source", "kcat"],
];
const KCAT_MESSAGES = [1, 2, 3].map((i) => ({
  key: `kcat-key-${i}`,
  value: `kcat-value-${i}`,
  headers: KCAT_HEADERS,
}));
const KAFKAJS_MESSAGES = [
  { key: "kafkajs-key-1", value: "kafkajs-value-1", headers: [["trace-id", "kafkajs-trace"]] },
  {
    key: "kafkajs-key-2",
    value: "välue-2 ✓",
    headers: [
      ["a", "1"],
      ["b", ""],
    ],
  },
  { key: null, value: "no key", headers: [] },
  { key: "kafkajs-tombstone", value: null, headers: [] },
];

function run(command, args, stdin) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), CLIENT_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}: ${stderr}`));
    });
    child.stdin.end(stdin ?? "");
  });
}

async function driveKcat(bootstrap) {
  const common = ["-b", bootstrap, "-t", TOPIC];
  const headerArgs = KCAT_HEADERS.flatMap(([key, value]) => ["-H", `${key}=${value}`]);
  const lines = KCAT_MESSAGES.map((m) => `${m.key}:${m.value}\n`).join("");
  await run("kcat", ["-P", ...common, "-p", "0", "-K", ":", ...headerArgs], lines);
  await run("kcat", ["-L", ...common]);
  const consumed = await run("kcat", ["-C", ...common, "-p", "0", "-o", "beginning", "-e", "-f", "%k:%s\n"]);
  if (consumed !== lines) throw new Error(`kcat -C consumed ${JSON.stringify(consumed)}, expected ${lines}`);
  // A balanced consumer adds the group apis, among them librdkafka's flexible OffsetFetch. It
  // starts from the earliest offset through auto.offset.reset, because an explicit start
  // offset (-o beginning) would skip the OffsetFetch.
  const groupArgs = [
    "-b",
    bootstrap,
    "-G",
    "brook-fixtures-kcat",
    "-X",
    "auto.offset.reset=earliest",
    "-e",
    "-f",
    "%k:%s\n",
    TOPIC,
  ];
  const consumedInGroup = await run("kcat", groupArgs);
  if (consumedInGroup !== lines)
    throw new Error(`kcat -G consumed ${JSON.stringify(consumedInGroup)}, expected ${lines}`);
}

async function driveKafkajs(bootstrap) {
  const kafka = new Kafka({ clientId: "brook-fixtures", brokers: [bootstrap], logLevel: logLevel.ERROR });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: KAFKAJS_MESSAGES.map((m) => ({
      key: m.key,
      value: m.value,
      partition: 0,
      headers: Object.fromEntries(m.headers),
    })),
  });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: "brook-fixtures-kafkajs" });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let received = 0;
  await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("kafkajs consumer timed out")), CLIENT_TIMEOUT_MS);
    consumer
      .run({
        eachMessage: async () => {
          received++;
          if (received === KAFKAJS_MESSAGES.length) {
            clearTimeout(timer);
            resolvePromise();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
}

/** Decodes an exchange with the project's codecs, to choose fixtures worth keeping and describe them. */
function decodeExchange(exchange) {
  const codec = codecForKey(exchange.apiKey);
  const { header, body } = decodeRequestFrame(exchange.request.subarray(4));
  const request = codec.decodeRequest(body, exchange.apiVersion);
  let response = null;
  if (exchange.response) {
    const frame = decodeResponseFrame(exchange.response.subarray(4), exchange.apiKey, exchange.apiVersion);
    response = codec.decodeResponse(frame.body, exchange.apiVersion);
  }
  return { codec, header, request, response };
}

// Exchanges of these apis are kept only if they show what the fixture is for; the others keep
// the first of each version.
const WORTH_KEEPING = {
  Fetch: ({ response }) =>
    response?.responses.some((topic) => topic.partitions.some((p) => p.records && p.records.length > 0)),
  Metadata: ({ response }) => response?.topics.some((topic) => topic.name === TOPIC && topic.errorCode === 0),
  // The first JoinGroup of a new member only fetches a member id (MEMBER_ID_REQUIRED).
  JoinGroup: ({ response }) => response?.errorCode === 0,
};
const REQUIRED_APIS = ["ApiVersions", "Metadata", "Produce", "Fetch"];

function kebabCase(name) {
  return name.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();
}

function writeFixtures(client, description, produced, exchanges) {
  const dir = join(fixturesDir, client);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const seen = new Map();
  for (const exchange of exchanges) {
    const key = `${codecForKey(exchange.apiKey)?.name ?? exchange.apiKey} v${exchange.apiVersion}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  console.log(`${client} sent: ${[...seen].map(([key, count]) => `${key} ×${count}`).join(", ")}`);
  const kept = new Map();
  for (const exchange of exchanges) {
    // Neither client sends acks=0, so no response means the client hung up first.
    if (!exchange.response) continue;
    const decoded = decodeExchange(exchange);
    const key = `${decoded.codec.name} v${exchange.apiVersion}`;
    if (kept.has(key)) continue;
    const worthKeeping = WORTH_KEEPING[decoded.codec.name];
    if (worthKeeping && !worthKeeping(decoded)) continue;
    kept.set(key, { exchange, decoded });
  }
  const fixtures = [];
  for (const { exchange, decoded } of kept.values()) {
    const stem = `${kebabCase(decoded.codec.name)}-v${exchange.apiVersion}`;
    for (const [kind, bytes] of [
      ["request", exchange.request],
      ["response", exchange.response],
    ]) {
      const file = `${stem}-${kind}.bin`;
      writeFileSync(join(dir, file), bytes);
      fixtures.push({
        file,
        kind,
        api: decoded.codec.name,
        apiKey: exchange.apiKey,
        version: exchange.apiVersion,
        correlationId: exchange.correlationId,
        clientId: decoded.header.clientId,
        connection: exchange.connection,
        bytes: bytes.length,
      });
    }
  }
  const missing = REQUIRED_APIS.filter((api) => !fixtures.some((f) => f.api === api));
  if (missing.length > 0) throw new Error(`${client}: no usable ${missing.join(", ")} exchange was recorded`);
  const index = { client: description, topic: TOPIC, produced, fixtures };
  writeFileSync(join(dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
  console.log(`${client}: ${fixtures.length} fixture files in ${dir}`);
}

/** A port nobody listens on right now, for the broker (whose output names only the advertised port). */
async function freePort() {
  const probe = createServer();
  await new Promise((resolvePromise) => probe.listen(0, "127.0.0.1", resolvePromise));
  const { port } = probe.address();
  await new Promise((resolvePromise) => probe.close(resolvePromise));
  return port;
}

/**
 * Runs `brook start` as users do, in memory, advertising the proxy's port so that clients
 * reconnecting to the advertised address go through the proxy too.
 */
async function startBrokerBehind(proxy) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [cli, "start", "--memory", "--port", String(port), "--advertised-port", String(proxy.port), "--log-level", "error"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolvePromise, reject) => {
    let stdout = "";
    const onData = (chunk) => {
      stdout += chunk;
      if (stdout.includes("listening on")) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolvePromise();
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`brook start exited with ${code}: ${stdout}`)));
  });
  proxy.forwardTo({ host: "127.0.0.1", port });
  return child;
}

async function record(client, drive) {
  const proxy = await startRecordingProxy();
  const broker = await startBrokerBehind(proxy);
  try {
    await drive(`${proxy.host}:${proxy.port}`);
  } finally {
    await proxy.close();
    broker.kill("SIGTERM");
  }
  if (proxy.problems.length > 0) throw new AggregateError(proxy.problems, `${client}: proxy problems`);
  return proxy.exchanges;
}

// "Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=...)" → "kcat 1.7.1 (librdkafka 2.0.2)"
const kcatVersions = /Version (\S+) .*librdkafka (\S+)/.exec(await run("kcat", ["-V"]));
const kcatDescription = kcatVersions ? `kcat ${kcatVersions[1]} (librdkafka ${kcatVersions[2]})` : "kcat";
writeFixtures("kcat", kcatDescription, KCAT_MESSAGES, await record("kcat", driveKcat));
const kafkajsVersion = JSON.parse(readFileSync(join(projectRoot, "node_modules/kafkajs/package.json"), "utf8")).version;
writeFixtures("kafkajs", `kafkajs ${kafkajsVersion}`, KAFKAJS_MESSAGES, await record("kafkajs", driveKafkajs));
