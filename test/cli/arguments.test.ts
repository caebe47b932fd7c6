import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "commander";
import { integer, position } from "../../src/cli/arguments.js";

describe("CLI option parsers", () => {
  it("integer() accepts integers at or above its minimum and names the option otherwise", () => {
    assert.equal(integer("--partitions", 1)("3"), 3);
    for (const bad of ["0", "-1", "1.5", "x", "", "9007199254740993"]) {
      assert.throws(
        () => integer("--partitions", 1)(bad),
        (e: Error) => {
          assert.ok(e instanceof InvalidArgumentError);
          assert.match(e.message, /^--partitions must be an integer >= 1/);
          return true;
        },
      );
    }
  });

  it("position() reads the ends, offsets, ISO times and @epoch milliseconds", () => {
    const parse = position("--from");
    assert.equal(parse("beginning"), "earliest");
    assert.equal(parse("earliest"), "earliest");
    assert.equal(parse("end"), "latest");
    assert.deepEqual(parse("42"), { offset: 42 });
    assert.deepEqual(parse("@1764000000000"), { timestamp: 1764000000000 });
    assert.deepEqual(parse("2026-11-24T09:00:00Z"), { timestamp: Date.UTC(2026, 10, 24, 9) });
    assert.deepEqual(parse("2026-11-24"), { timestamp: Date.UTC(2026, 10, 24) });
    for (const bad of ["-1", "yesterday", "2026-13-45", "@", "1e3"]) {
      assert.throws(() => parse(bad), /^InvalidArgumentError: --from takes earliest, latest/);
    }
  });
});
