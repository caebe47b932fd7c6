// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bin/, the `brook` binary.
//
// Why: Node loads ES modules one file at a time (resolve, read, compile, link), and the CLI is
// some 190 modules with its dependencies. As a handful of files it starts about 140 ms sooner,
// which is most of the broker's start-up. Each command's module stays a chunk of its own, loaded
// only when that command runs (see COMMANDS in src/cli/main.ts).
//
// The native addons (CRC-32C and the compression codecs) stay outside: they are loaded from
// node_modules at run time, as before. The library (`import ... from "brook"`) is not bundled.
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const NATIVE_ADDONS = ["@node-rs/crc32", "snappy", "lz4-napi", "@mongodb-js/zstd"];
for (const name of NATIVE_ADDONS) {
  if (!(name in manifest.dependencies))
    throw new Error(`bundle: ${name} is no longer a dependency; update NATIVE_ADDONS`);
}

// Chunk names carry a content hash: clear out the last bundle's.
rmSync("dist/bin", { recursive: true, force: true });
await build({
  entryPoints: { brook: "dist/src/cli/main.js" },
  outdir: "dist/bin",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: NATIVE_ADDONS,
  // The CommonJS dependencies (pino, commander) call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __brookCreateRequire } from 'node:module'; const require = __brookCreateRequire(import.meta.url);",
  },
  sourcemap: "linked",
  logLevel: "warning",
});
