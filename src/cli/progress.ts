// A progress line for long-running commands: redrawn in place at most ten times a second, and
// only on a terminal (a pipe or a file gets the final summary alone).
import { stdout } from "node:process";

const REDRAW_MS = 100;

export class ProgressLine {
  private readonly timer: NodeJS.Timeout | undefined;
  private drawn = false;

  /** `describe` is called on each redraw with the seconds since `startedAt` and returns the line. */
  constructor(
    describe: (seconds: number) => string,
    private readonly stream: NodeJS.WriteStream = stdout,
    startedAt = performance.now(),
  ) {
    if (stream.isTTY !== true) return;
    this.timer = setInterval(() => {
      stream.write(`\r${describe((performance.now() - startedAt) / 1000)}\x1b[K`);
      this.drawn = true;
    }, REDRAW_MS);
    // Progress alone never keeps the process alive.
    this.timer.unref();
  }

  /** Stops redrawing and erases the line, so that what is printed next starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    if (this.drawn) this.stream.write("\r\x1b[K");
    this.drawn = false;
  }
}
