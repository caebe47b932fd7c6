/**
 * Buffers that log reads are lent, and that come back once the socket has written them.
 *
 * Why: a fetch reads up to a megabyte per partition, and a fresh buffer of that size costs far
 * more than the read. The kernel must fault in and zero every page of it (about 0.8 ms per MiB
 * here, 25 times a read into memory already touched), and V8 counts the external memory and
 * runs full collections to free it: a consumer reading 64 partitions spent more time there than
 * reading. Reusing the buffers of responses already written removes both.
 *
 * Lending is safe by construction: a buffer is reused only after `giveBack` is called with a
 * view of it, which the server does once the response holding it has been written to the
 * socket. A buffer never given back (a read whose bytes a handler dropped, a connection that
 * closed first) is simply left to the garbage collector, so forgetting is harmless; only giving
 * back too early would not be, and nothing but the written socket does it.
 */
export class ReadBuffers {
  /** Buffers out on loan, by their memory: a weak set, so a buffer never given back is not kept. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private readonly free: Buffer[] = [];

  constructor(
    /** The size of every pooled buffer; longer reads get buffers of their own. */
    readonly bufferBytes: number,
    /** Shorter reads get buffers of their own too: small buffers are cheap, and come from Node's shared pool. */
    readonly minPooledBytes: number,
    /** How many buffers wait for reuse at most: what the pool may keep while idle. */
    readonly maxFree: number,
  ) {}

  /** A buffer of `length` bytes for a read, pooled when it fits. */
  lend(length: number): Buffer {
    if (length > this.bufferBytes || length < this.minPooledBytes) return Buffer.allocUnsafe(length);
    // allocUnsafeSlow: a buffer with memory of its own, never a slice of Node's shared pool.
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.lent.add(buffer.buffer);
    return buffer.subarray(0, length);
  }

  /** Takes back the buffer `view` lies in, if it was lent and not given back yet; ignores any other. */
  giveBack(view: Buffer): void {
    const memory = view.buffer;
    if (!this.lent.delete(memory)) return;
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(memory, 0, this.bufferBytes));
  }

  /** Buffers waiting for reuse (for tests and metrics). */
  get freeCount(): number {
    return this.free.length;
  }
}
