/** An int32 size prefix, as it starts every frame. */
export function sizePrefix(size: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(size, 0);
  return prefix;
}

/** A payload with its size prefix. */
export function framed(payload: Buffer): Buffer {
  return Buffer.concat([sizePrefix(payload.length), payload]);
}
