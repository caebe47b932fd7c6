import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { assertOneSentence, runCli } from "./helpers/run-cli.js";

describe("brook (the command line as a whole)", () => {
  it("--version prints the package's version", async () => {
    const manifest = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${manifest.version}\n`);
  });

  it("answers an unknown command or option with one sentence and exit 1", async () => {
    assertOneSentence(await runCli(["nosuch"]), "unknown command 'nosuch' (see --help)");
    assertOneSentence(await runCli(["topic", "list", "--colour"]), "unknown option '--colour' (see --help)");
  });

  it("answers a bad option value with one sentence naming the option, before contacting any broker", async () => {
    const result = await runCli(["consume", "orders", "--count", "0", "--brokers", "127.0.0.1:1"]);
    assertOneSentence(
      result,
      /^brook: option '-n, --count <n>' argument '0' is invalid\. --count must be an integer >= 1/,
    );
  });

  it("prints help for a command group given no subcommand", async () => {
    const result = await runCli(["group"]);
    assert.match(result.stdout + result.stderr, /Usage: brook group/);
    assert.match(result.stdout + result.stderr, /reset-offsets/);
  });
});
