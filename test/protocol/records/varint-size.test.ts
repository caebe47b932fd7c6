import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { sizeOfVarint, sizeOfVarlong } from "../../../src/protocol/records/varint-size.js";
import { Writer } from "../../../src/protocol/writer.js";

describe("varint sizes match what Writer writes", () => {
  it("varint, at every length boundary and at random", () => {
    const edges = [0, -1, 63, -64, 64, -65, 8191, 8192, -8193, 2 ** 31 - 1, -(2 ** 31)];
    for (const value of edges) assert.equal(sizeOfVarint(value), new Writer().writeVarint(value).toBuffer().length);
    fc.assert(
      fc.property(fc.integer(), (value) => {
        assert.equal(sizeOfVarint(value), new Writer().writeVarint(value).toBuffer().length);
      }),
    );
  });

  it("varlong, across the safe-integer range", () => {
    assert.equal(sizeOfVarlong(0), 1);
    assert.equal(sizeOfVarlong(2 ** 40), 6);
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        assert.equal(sizeOfVarlong(value), new Writer().writeVarlong(value).toBuffer().length);
      }),
    );
  });
});
