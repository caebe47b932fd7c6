import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { HANDLERS } from "../../src/broker/handlers/index.js";

const doc = readFileSync(new URL("../../../docs/api-support.md", import.meta.url), "utf8");

it("docs/api-support.md lists exactly the APIs and versions the broker registers", () => {
  const documented = [...doc.matchAll(/^\| (\d+) \| (\w+) \| (\d+)–(\d+) \|$/gm)].map((m) => [
    Number(m[1]),
    m[2],
    Number(m[3]),
    Number(m[4]),
  ]);
  const registered = HANDLERS.map((h) => [h.codec.apiKey, h.codec.name, h.minVersion, h.maxVersion]).sort(
    (a, b) => (a[0] as number) - (b[0] as number),
  );
  assert.deepEqual(documented, registered);
});
