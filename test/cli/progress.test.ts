import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProgressLine } from "../../src/cli/progress.js";

/** A stand-in for stdout that records what is written to it. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe("ProgressLine", () => {
  it("redraws the line in place every 100 ms on a terminal, and erases it when stopped", (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const stream = fakeStream(true);
    let calls = 0;
    const progress = new ProgressLine(() => `step ${++calls}`, stream, 0);
    assert.deepEqual(stream.written, []);
    t.mock.timers.tick(100);
    t.mock.timers.tick(100);
    assert.deepEqual(stream.written, ["\rstep 1\x1b[K", "\rstep 2\x1b[K"]);
    progress.stop();
    assert.equal(stream.written.at(-1), "\r\x1b[K");
    t.mock.timers.tick(1000);
    assert.equal(stream.written.length, 3, "nothing after stop()");
  });

  it("draws nothing when the stream is not a terminal", (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const stream = fakeStream(false);
    const progress = new ProgressLine(() => "never", stream, 0);
    t.mock.timers.tick(1000);
    progress.stop();
    assert.deepEqual(stream.written, []);
  });
});
