// Runs every compiled test file under dist/test with Node's own test runner.
// (Node 20's `--test` takes no glob patterns, so the files are listed here.)
// Extra arguments narrow the run: `npm test -- interop` runs the files whose path contains "interop".
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

// The tests run the `brook` binary, which is bundled from dist/src: bundle it again so that it
// never lags behind the last compile.
await import("./bundle.mjs");

const filters = process.argv.slice(2);
const files = testFiles("dist/test")
  .filter((file) => filters.length === 0 || filters.some((f) => relative("dist/test", file).includes(f)))
  .sort();
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
