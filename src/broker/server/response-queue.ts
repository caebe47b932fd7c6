import { SIZE_PREFIX_BYTES } from "../../protocol/frame-decoder.js";
import type { FrameResponse } from "./frame-handler.js";

const MAX_FRAME_SIZE = 0x7fffffff;

/** A place in the queue, reserved for one request's response. */
export interface ResponseSlot {
  filled: boolean;
  response: FrameResponse;
  /** Bytes on the wire once framed: 0 for no response. */
  bytes: number;
  next: ResponseSlot | undefined;
}

/** Responses that can be written now, already framed. */
export interface ReadyResponses {
  chunks: Buffer[];
  /** Responses among the chunks; requests that get no response are not counted. */
  responses: number;
  bytes: number;
}

/**
 * The responses of one connection, in request order. A slot is reserved when a request is
 * dispatched and filled when its handler finishes, possibly out of order; only the filled
 * slots at the head can be written, because clients match responses to requests by position
 * (kafka-python fails on the first correlation id out of order).
 */
export class ResponseQueue {
  private head: ResponseSlot | undefined;
  private tail: ResponseSlot | undefined;
  private filledBytes = 0;

  get isEmpty(): boolean {
    return this.head === undefined;
  }

  /** Bytes of responses that are done but not taken yet, wherever they are in the queue. */
  get readyBytes(): number {
    return this.filledBytes;
  }

  reserve(): ResponseSlot {
    const slot: ResponseSlot = { filled: false, response: null, bytes: 0, next: undefined };
    if (this.tail === undefined) this.head = slot;
    else this.tail.next = slot;
    this.tail = slot;
    return slot;
  }

  /**
   * Records a slot's response; returns whether the head of the queue is now ready to write.
   * Throws RangeError for a response too large for an int32 size prefix.
   */
  fill(slot: ResponseSlot, response: FrameResponse): boolean {
    if (response !== null) {
      let size = 0;
      for (const chunk of response) size += chunk.length;
      if (size > MAX_FRAME_SIZE) throw new RangeError(`response of ${size} bytes does not fit in a frame`);
      slot.bytes = SIZE_PREFIX_BYTES + size;
    }
    slot.filled = true;
    slot.response = response;
    this.filledBytes += slot.bytes;
    return this.head?.filled === true;
  }

  /** Removes the filled slots at the head and returns their responses, each after its size prefix. */
  takeReady(): ReadyResponses {
    const ready: ReadyResponses = { chunks: [], responses: 0, bytes: 0 };
    let slot = this.head;
    while (slot?.filled) {
      if (slot.response !== null) {
        const prefix = Buffer.allocUnsafe(SIZE_PREFIX_BYTES);
        prefix.writeInt32BE(slot.bytes - SIZE_PREFIX_BYTES, 0);
        ready.chunks.push(prefix);
        for (const chunk of slot.response) if (chunk.length > 0) ready.chunks.push(chunk);
        ready.responses++;
        ready.bytes += slot.bytes;
      }
      slot = slot.next;
    }
    this.head = slot;
    if (slot === undefined) this.tail = undefined;
    this.filledBytes -= ready.bytes;
    return ready;
  }

  /** Forgets every slot, when the connection closes; its owner must not fill old slots afterwards. */
  clear(): void {
    this.head = undefined;
    this.tail = undefined;
    this.filledBytes = 0;
  }
}
