import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { hasFile, skipUnless } from "../helpers/requirements.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const specs = join(root, "..", "shared", "kafka-protocol");

it("the generated codecs match Apache Kafka's message definitions", (t) => {
  if (!skipUnless(t, hasFile(join(specs, "messages")), `the Kafka message definitions in ${specs}`)) return;
  const result = spawnSync(process.execPath, [join(root, "scripts", "generate-protocol.mjs"), "--check", specs], {
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /matches the specs/);
});
