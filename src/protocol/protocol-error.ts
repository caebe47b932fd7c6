/**
 * Thrown by every decoder in src/protocol when bytes do not follow the wire format:
 * truncated input, a negative or oversized length, an unknown magic byte, a bad CRC.
 * The broker answers it with a closed connection or CORRUPT_MESSAGE; it never escapes
 * as a crash.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function truncated(what: string, need: number, have: number): ProtocolError {
  return new ProtocolError("PROTOCOL_TRUNCATED", `truncated input reading ${what}: need ${need} bytes, ${have} left`);
}
