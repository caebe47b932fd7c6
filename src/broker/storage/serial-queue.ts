/**
 * Runs async tasks one after another in call order. A partition log puts every change
 * (append, roll, deletion) through one queue, so each sees the state the previous left.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // A failed task must not stop the ones queued behind it.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
