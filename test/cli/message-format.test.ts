import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonLine, parseTemplate, type RawMessage, valueOnly } from "../../src/cli/message-format.js";
import { UserError } from "../../src/cli/user-error.js";
import { ConsumerMessage } from "../../src/client/consumer.js";

const message: RawMessage = new ConsumerMessage(
  "orders",
  2,
  41,
  Date.UTC(2026, 10, 24, 9, 30),
  Buffer.from("order-7"),
  Buffer.from("placed"),
  [
    { key: "source", value: Buffer.from("web") },
    { key: "empty", value: null },
  ],
);
const tombstone: RawMessage = new ConsumerMessage("orders", 0, 1, 0, null, null, []);

describe("message formats", () => {
  it("fills every placeholder of a template", () => {
    const format = parseTemplate("{topic}/{partition}@{offset} {key}={value} [{headers}] {timestamp} {time}");
    assert.equal(
      format(message),
      `orders/2@41 order-7=placed [source=web,empty=] ${Date.UTC(2026, 10, 24, 9, 30)} 2026-11-24T09:30:00.000Z`,
    );
    assert.equal(format(tombstone), "orders/0@1 = [] 0 1970-01-01T00:00:00.000Z");
  });

  it("reads {{, }}, \\t, \\n and \\\\ as literal text, and spaces inside braces", () => {
    assert.equal(parseTemplate("{{{ key }}}\\t\\n\\\\x")(message), "{order-7}\t\n\\x");
  });

  it("rejects unknown placeholders and unbalanced braces with a sentence", () => {
    for (const [template, error] of [
      ["{nope}", /\{nope\} is not a placeholder/],
      ["{value", /never closed/],
      ["value}", /closes nothing/],
    ] as const) {
      assert.throws(
        () => parseTemplate(template),
        (e: Error) => e instanceof UserError && error.test(e.message),
      );
    }
  });

  it("prints the value alone by default, and every field as JSON with --json", () => {
    assert.equal(valueOnly(message), "placed");
    assert.equal(valueOnly(tombstone), "");
    assert.deepEqual(JSON.parse(jsonLine(message)), {
      topic: "orders",
      partition: 2,
      offset: 41,
      timestamp: Date.UTC(2026, 10, 24, 9, 30),
      key: "order-7",
      value: "placed",
      headers: [
        { key: "source", value: "web" },
        { key: "empty", value: null },
      ],
    });
    assert.deepEqual(JSON.parse(jsonLine(tombstone)), {
      topic: "orders",
      partition: 0,
      offset: 1,
      timestamp: 0,
      key: null,
      value: null,
      headers: [],
    });
  });
});
