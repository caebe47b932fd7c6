// `npm run example <name> [-- options]` runs a compiled example program, dist/examples/*/<name>.js
// (the examples are compiled with the project: `npx tsc -p .`).
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../dist/examples/", import.meta.url));
if (!existsSync(root)) {
  console.error("The examples are not compiled yet: run `npx tsc -p .` (npm install does it too).");
  process.exit(2);
}
// Programs are the .js files of the example folders; the modules they share end in "-events".
const programs = new Map(
  readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) => readdirSync(join(root, dir.name)).map((file) => join(root, dir.name, file)))
    .filter((file) => file.endsWith(".js") && !file.endsWith("-events.js"))
    .map((file) => [basename(file, ".js"), file]),
);

const [name, ...args] = process.argv.slice(2);
const program = name === undefined ? undefined : programs.get(name);
if (program === undefined) {
  console.error(`usage: npm run example <name> [-- options]; examples: ${[...programs.keys()].sort().join(", ")}`);
  process.exit(2);
}
// The program reads its options from process.argv, as if it had been started directly.
process.argv = [process.argv[0], program, ...args];
try {
  await import(pathToFileURL(program).href);
} catch (error) {
  // An option the example does not know: one line, not a stack trace.
  if (!String(error?.code).startsWith("ERR_PARSE_ARGS")) throw error;
  console.error(`${name}: ${error.message}`);
  process.exit(2);
}
