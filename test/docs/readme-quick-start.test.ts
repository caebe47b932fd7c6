// The README's quick start is a contract: on a clean checkout, `npm install` then `npm start`
// runs a broker with its data in ./data, the commands it shows work against that broker, and
// its client hello world prints what it says. This test follows the README of a fresh clone of
// this repository word for word (only `npm test` is left out: this test is part of it).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { skipUnless } from "../helpers/requirements.js";

const PROJECT = fileURLToPath(new URL("../../../", import.meta.url));
const README_PORT = 9092;

/** The fenced code blocks of one `## ` section of a Markdown document, in order. */
function codeBlocks(markdown: string, section: string): { lang: string; body: string }[] {
  const start = markdown.indexOf(`\n## ${section}\n`);
  assert.notEqual(start, -1, `the README has a "${section}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  const text = markdown.slice(start, end === -1 ? undefined : end);
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/** The commands of a shell block: one per line, comments and blank lines dropped. */
function commands(block: string): string[] {
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, cwd: string, timeoutMs = 300_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], { cwd, env: testEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** npm may use its cache: CI's own `npm install` has just filled it. */
function testEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_prefer_offline: "true", NO_COLOR: "1" };
  delete env.BROOK_BROKERS;
  return env;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts `command` in a process group of its own, as a terminal does, and resolves once it prints `ready`. */
function startInBackground(
  command: string,
  cwd: string,
  ready: RegExp,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn("bash", ["-c", command], {
    cwd,
    env: testEnv(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`"${command}" did not get ready within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: string) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.stderr!.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => reject(new Error(`"${command}" exited with ${code}:\n${output}`)));
  });
}

describe("the README quick start, word for word on a clean checkout", { timeout: 600_000 }, () => {
  let checkout: string;
  let workdir: string;
  let readme: string;
  let broker: { child: ChildProcess; output: () => string } | undefined;

  before(() => {
    workdir = mkdtempSync(join(tmpdir(), "brook-readme-"));
    checkout = join(workdir, "brook");
  });

  after(async () => {
    if (broker && broker.child.exitCode === null && broker.child.signalCode === null) {
      try {
        process.kill(-broker.child.pid!, "SIGKILL");
      } catch {
        // the group is gone already
      }
    }
    rmSync(workdir, { recursive: true, force: true });
  });

  test("the quick start, the client hello world, and a clean stop", async (t) => {
    if (!skipUnless(t, existsSync(join(PROJECT, ".git")), "a git checkout of brook (the test clones it)")) return;
    assert.equal(await portInUse(README_PORT), false, `port ${README_PORT} is in use: stop what listens there`);
    const clone = await run(`git clone --quiet --no-hardlinks ${JSON.stringify(PROJECT)} brook`, workdir);
    assert.equal(clone.code, 0, clone.stderr);
    readme = readFileSync(join(checkout, "README.md"), "utf8");

    const [server, client] = codeBlocks(readme, "Quick start");
    const [install, start, ...rest] = commands(server!.body);
    assert.deepEqual([install, start, rest], ["npm install", "npm start", []], "the first terminal's commands");
    const installed = await run(install!, checkout);
    assert.equal(installed.code, 0, `npm install failed:\n${installed.stdout}\n${installed.stderr}`);

    broker = await startInBackground(start!, checkout, /listening on 127\.0\.0\.1:9092/);
    assert.match(broker.output(), new RegExp(`data: ${join(checkout, "data")}`), "the data lives in ./data");

    const outputs: Run[] = [];
    for (const command of commands(client!.body)) {
      const result = await run(command, checkout, 60_000);
      assert.equal(result.code, 0, `${command}\n${result.stdout}\n${result.stderr}`);
      outputs.push(result);
    }
    const [, , consumed, described] = outputs;
    // "{partition}:{offset} {key} {value}" lines, as the README's --format asks.
    const events = consumed!.stdout
      .trim()
      .split("\n")
      .map((line) => {
        const [position, key, value] = line.split(" ");
        const [partition, offset] = position!.split(":").map(Number);
        return { partition, offset, key, value };
      });
    assert.deepEqual(events.map((e) => `${e.key} ${e.value}`).sort(), [
      "order-1 paid",
      "order-1 placed",
      "order-2 placed",
    ]);
    const order1 = events.filter((e) => e.key === "order-1");
    assert.equal(order1[0]!.partition, order1[1]!.partition, "one key, one partition");
    assert.deepEqual(
      order1.map((e) => e.value),
      ["placed", "paid"],
      "a partition keeps the order of production",
    );
    assert.match(described!.stdout, /billing/, "group describe shows the group");
    assert.match(described!.stdout, /\borders\b/, "group describe shows its topic");

    // The hello world, compiled as a user would: TypeScript importing "brook" (resolved by the
    // package's own name, from a folder of the checkout that has no tsconfig.json of its own).
    const [hello] = codeBlocks(readme, "The client, in one screen");
    assert.equal(hello!.lang, "ts");
    const helloDir = join(checkout, "hello");
    mkdirSync(helloDir);
    writeFileSync(join(helloDir, "hello.ts"), hello!.body);
    const compiled = await run(
      "npx tsc hello.ts --ignoreConfig --target es2022 --module nodenext --types node --skipLibCheck --rootDir . --outDir out",
      helloDir,
    );
    assert.equal(compiled.code, 0, `the hello world compiles\n${compiled.stdout}${compiled.stderr}`);
    const hi = await run("node out/hello.js", helloDir, 60_000);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, "hello, world (partition 0, offset 0)\n");

    // Ctrl-C in the broker's terminal: a clean stop, and the data stays in ./data.
    // A terminal sends SIGINT to npm and to the broker; npm ends by that signal once the broker
    // has exited, and "close" comes when the broker's output ends too.
    const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      broker!.child.once("close", (code, signal) => resolve({ code, signal })),
    );
    process.kill(-broker.child.pid!, "SIGINT");
    const { code, signal } = await closed;
    assert.ok(code === 0 || signal === "SIGINT", `npm start ends on Ctrl-C (${code}, ${signal})`);
    assert.match(broker.output(), /SIGINT: stopping\.\.\.\nstopped\n/, "the broker stops cleanly");
    assert.ok(existsSync(join(checkout, "data", "orders-0")), "the topic's partitions are in ./data");
  });
});
