import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { computeBatchCrc, computeLegacyMessageCrc } from "../../../src/protocol/records/checksums.js";
import { referenceCrc32, referenceCrc32c } from "./test-helpers.js";

const CHECK_INPUT = Buffer.from("123456789");

describe("checksums", () => {
  it("batch CRC is CRC-32C from the attributes field on: check value 0xE3069283", () => {
    // 21 bytes of batch header before the attributes, which the CRC must skip.
    const batch = Buffer.concat([Buffer.alloc(21, 0xaa), CHECK_INPUT]);
    assert.equal(computeBatchCrc(batch, 0, batch.length), 0xe3069283);
    const shifted = Buffer.concat([Buffer.alloc(5), batch, Buffer.alloc(3)]);
    assert.equal(computeBatchCrc(shifted, 5, batch.length), 0xe3069283);
  });

  it("legacy message CRC is CRC-32/IEEE: check value 0xCBF43926", () => {
    const message = Buffer.concat([Buffer.alloc(4), CHECK_INPUT]);
    assert.equal(computeLegacyMessageCrc(message, 4, message.length), 0xcbf43926);
  });

  it("both agree with bitwise reference implementations", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const data = Buffer.from(bytes);
        assert.equal(
          computeBatchCrc(Buffer.concat([Buffer.alloc(21), data]), 0, 21 + data.length),
          referenceCrc32c(data),
        );
        assert.equal(computeLegacyMessageCrc(data, 0, data.length), referenceCrc32(data));
      }),
    );
  });
});
